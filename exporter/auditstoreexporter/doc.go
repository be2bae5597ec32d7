// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

// Package auditstoreexporter stores canonical policy records in an embedded
// SQLite database, chained by SHA-256 so that any change to the file is
// detected, and serves a read-only query API over them: the trail a security
// team queries by correlation ID, caller, verdict or policy version before,
// or besides, the SIEM.
//
//go:generate mdatagen metadata.yaml
package auditstoreexporter // import "github.com/policyaudit/policyaudit/exporter/auditstoreexporter"
