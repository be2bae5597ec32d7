// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

// Package auditstoreextension is the audit store: canonical records in
// SHA-256 hash chains anchored by Ed25519-signed heads, kept in an embedded
// SQLite file (one collector) or a shared PostgreSQL database (a fleet, one
// chain per collector), with retention, and the read-only query API and web
// console a security team searches by correlation ID, caller, verdict or
// policy version. The auditstore exporter appends to it; it names the
// extension by ID, as a persistent queue names its storage.
//
//go:generate mdatagen metadata.yaml
package auditstoreextension // import "github.com/policyaudit/policyaudit/extension/auditstoreextension"
