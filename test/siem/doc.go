// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

// Package siem checks the content shipped for the SIEMs and metrics
// backends (deploy/prometheus, deploy/siem) with real engines where one
// runs here (promtool, DuckDB, the Kusto language service), and their field
// and label names against the one definition of the record's fields, so a
// renamed field fails a test.
package siem // import "github.com/policyaudit/policyaudit/test/siem"
