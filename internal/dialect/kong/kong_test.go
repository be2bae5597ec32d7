// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package kong_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/policyaudit/policyaudit/internal/dialect/kong"
	"github.com/policyaudit/policyaudit/internal/jsonbody"
	"github.com/policyaudit/policyaudit/internal/record"
	"github.com/policyaudit/policyaudit/internal/testfixtures"
)

// Each row of docs/records.md's Kong verdict table, on its fixture entry
// (testdata/fixtures/kong-http-log.json, by index).
func TestKongVerdictTable(t *testing.T) {
	body, err := os.ReadFile(filepath.Join(testfixtures.Dir, "kong-http-log.json"))
	require.NoError(t, err)
	var entries []jsonbody.Value
	require.NoError(t, jsonbody.Split(body, false, jsonbody.DefaultLimits, func(_ jsonbody.Position, obj jsonbody.Value) error {
		entries = append(entries, obj)
		return nil
	}))
	recsOf := func(i int) []*record.Record {
		recs, err := kong.NormalizeEntry(nil, entries[i])
		require.NoError(t, err)
		return recs
	}
	for _, row := range []struct {
		name            string
		entry, index    int
		decision, stage string
		policy, version string
		categories      []string
	}{
		{"nothing blocked allows", 0, 0, "allow", "", "gr-7x2k9fin", "3", []string{}},
		{"an input block reason denies the request", 1, 0, "deny", "request", "gr-7x2k9fin", "3", []string{}},
		{"masked content redacts", 2, 0, "redact", "request", "gr-7x2k9fin", "3", []string{}},
		{"an output block reason denies the response", 3, 0, "deny", "response", "projects/acme/locations/eu/templates/strict", record.UnknownPolicyVersion, []string{"dangerous", "sexually_explicit"}},
		{"Lakera's detected detectors are the categories", 4, 0, "deny", "request", "project-8812", record.UnknownPolicyVersion, []string{"prompt_attack"}},
		{"Azure's breached categories", 5, 0, "deny", "request", "azure-content-safety", record.UnknownPolicyVersion, []string{"Hate", "Violence"}},
		{"a guard that blocked nothing", 6, 0, "allow", "", "custom-guardrail", record.UnknownPolicyVersion, []string{}},
		{"the PII sanitizer redacts what it sanitised", 6, 1, "redact", "request", "ai-sanitizer", record.UnknownPolicyVersion, []string{"EMAIL", "PHONE_NUMBER"}},
	} {
		t.Run(row.name, func(t *testing.T) {
			recs := recsOf(row.entry)
			require.Greater(t, len(recs), row.index)
			r := recs[row.index]
			assert.Equal(t, row.decision, r.Decision)
			assert.Equal(t, row.decision, r.EffectiveDecision)
			assert.Equal(t, row.stage, r.Stage)
			assert.Equal(t, row.policy, r.PolicyID)
			assert.Equal(t, row.version, r.PolicyVersion)
			assert.Equal(t, row.categories, r.TriggeredCategories)
			assert.Equal(t, "kong", r.Gateway)
			assert.Equal(t, record.RolloutEnforced, r.RolloutMode)
		})
	}
	assert.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", recsOf(0)[0].CorrelationID, "the W3C trace correlates")
	assert.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", recsOf(0)[0].TraceID)
	assert.Equal(t, "c0ffee00-1111-4222-8333-000000000004", recsOf(3)[0].CorrelationID, "else the correlation-id plugin's ID")
	assert.Equal(t, "2f6946328ffc4946b8c9120700000001", recsOf(1)[0].CorrelationID, "else Kong's request ID")
	assert.Equal(t, "billing-app", recsOf(1)[0].PolicyUser, "the consumer's username")
	assert.Empty(t, recsOf(4)[0].PolicyUser, "no consumer")
	assert.Equal(t, recsOf(6)[0].CorrelationID, recsOf(6)[1].CorrelationID, "one request's guards share its correlation ID")
	assert.Empty(t, recsOf(7), "AI proxy without a guardrail")
	assert.Empty(t, recsOf(8), "no AI section")
	assert.NotContains(t, recsOf(6)[1].Extra, "sanitized_items", "the sanitizer's originals are never read")
}

// The earlier layout, each AI plugin's object keyed by its own name at the
// ai level, reads the same.
func TestKongEarlierLayout(t *testing.T) {
	recs, err := kong.NormalizeEntry(nil, jsonbody.FromAny(map[string]any{
		"started_at": 1795420800000.0, "request": map[string]any{"id": "r-old"},
		"ai": map[string]any{
			"ai-proxy":          map[string]any{"meta": map[string]any{"request_model": "gpt-4o", "provider_name": "openai"}, "usage": map[string]any{"total_tokens": 12.0}},
			"ai-aws-guardrails": map[string]any{"guardrails_id": "gr-old", "guardrails_version": "1", "input_block_reason": "Denied topic"},
		},
	}))
	require.NoError(t, err)
	require.Len(t, recs, 1)
	assert.Equal(t, "deny", recs[0].Decision)
	assert.Equal(t, "gr-old", recs[0].PolicyID)
	assert.Equal(t, "gpt-4o", recs[0].Model)
	assert.Equal(t, "r-old", recs[0].CorrelationID)
}
