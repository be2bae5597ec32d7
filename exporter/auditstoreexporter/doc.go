// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

// Package auditstoreexporter appends canonical policy records to the audit
// store, the auditstore extension it names by ID: the SHA-256-chained trail
// a security team queries by correlation ID, caller, verdict or policy
// version before, or besides, the SIEM. Each batch is committed to the
// store before the exporter reports it sent.
//
//go:generate mdatagen metadata.yaml
package auditstoreexporter // import "github.com/policyaudit/policyaudit/exporter/auditstoreexporter"
