// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

// Package dialecttest holds what the dialects' tests share.
package dialecttest // import "github.com/policyaudit/policyaudit/internal/dialect/dialecttest"

import (
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/policyaudit/policyaudit/internal/dialect"
	"github.com/policyaudit/policyaudit/internal/jsonbody"
	"github.com/policyaudit/policyaudit/internal/pdatajson"
	"github.com/policyaudit/policyaudit/internal/record"
)

// NormalizeText is what d makes of one JSON object: each record's
// canonical JSON, a line each, and the error's text ("" without one), so a
// test can pin both.
func NormalizeText(t *testing.T, d *dialect.Dialect, text string) (string, string) {
	t.Helper()
	obj, err := jsonbody.DecodeObject([]byte(text), jsonbody.DefaultLimits)
	require.NoError(t, err)
	recs, err := d.Normalize(nil, obj, record.Hints{})
	var out []byte
	for _, r := range recs {
		m := pcommon.NewMap()
		r.CopyTo(m)
		out = append(pdatajson.AppendCanonicalMap(out, m), '\n')
	}
	if err != nil {
		return string(out), err.Error()
	}
	return string(out), ""
}
