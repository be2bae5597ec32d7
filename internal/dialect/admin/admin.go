// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

// Package admin is the dialect of admin audit events in the record
// contract's field names (docs/records.md): who changed which policy,
// guardrail or key, posted to /v1/audit.
package admin // import "github.com/policyaudit/policyaudit/internal/dialect/admin"

import (
	"github.com/policyaudit/policyaudit/internal/dialect"
	"github.com/policyaudit/policyaudit/internal/dialect/decisions"
	"github.com/policyaudit/policyaudit/internal/jsonbody"
	"github.com/policyaudit/policyaudit/internal/record"
)

// Dialect is admin audit events in the contract's field names.
var Dialect = dialect.Dialect{
	Name: "audit",
	Path: "/v1/audit",
	Doc:  "admin audit events in the record contract's field names",
	Normalize: func(dst []*record.Record, obj jsonbody.Value, hints record.Hints) ([]*record.Record, error) {
		hints.Kind = record.KindAdmin
		return decisions.Normalize(dst, obj, hints)
	},
	Fixtures: []string{"admin-audit.ndjson"},
}
