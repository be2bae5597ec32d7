// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package opa_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/policyaudit/policyaudit/internal/dialect/opa"
	"github.com/policyaudit/policyaudit/internal/jsonbody"
	"github.com/policyaudit/policyaudit/internal/record"
)

func normalizeOPA(t *testing.T, event string) (*record.Record, error) {
	t.Helper()
	obj, err := jsonbody.DecodeObject([]byte(event), jsonbody.DefaultLimits)
	require.NoError(t, err)
	recs, err := opa.Normalize(nil, obj, record.Hints{})
	require.Len(t, recs, 1)
	return recs[0], err
}

func TestOPAResultShapes(t *testing.T) {
	r, err := normalizeOPA(t, `{"decision_id":"d1","result":true,"input":{"user":"u","prompt":"hi"},"bundles":{"b":{"revision":"r2"},"a":{"revision":"r1"}},"timestamp":"2026-03-02T10:00:00Z","path":"x/allow"}`)
	require.NoError(t, err)
	assert.Equal(t, "d1", r.EventID)
	assert.Equal(t, "allow", r.Decision)
	assert.Equal(t, "true", r.DecisionRaw)
	assert.Equal(t, "a=r1,b=r2", r.PolicyVersion, "several bundles: every revision, by bundle name")
	assert.Equal(t, "u", r.PolicyUser)
	assert.Equal(t, map[string]any{"prompt": "hi"}, r.Extra["input"])

	r, err = normalizeOPA(t, `{"decision_id":"d2","result":{"allow":false,"policy_id":"p"},"timestamp":"2026-03-02T10:00:00Z"}`)
	require.NoError(t, err)
	assert.Equal(t, "deny", r.Decision, `{"allow": false} denies`)
}
