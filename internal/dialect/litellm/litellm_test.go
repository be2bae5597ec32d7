// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package litellm_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/policyaudit/policyaudit/internal/dialect/litellm"
	"github.com/policyaudit/policyaudit/internal/jsonbody"
	"github.com/policyaudit/policyaudit/internal/record"
	"github.com/policyaudit/policyaudit/internal/testfixtures"
)

// liteLLMCalls normalises testdata/fixtures/litellm-calls.ndjson and
// returns the records of each call, by litellm_call_id.
func liteLLMCalls(t *testing.T) map[string][]*record.Record {
	t.Helper()
	body, err := os.ReadFile(filepath.Join(testfixtures.Dir, "litellm-calls.ndjson"))
	require.NoError(t, err)
	out := map[string][]*record.Record{}
	require.NoError(t, jsonbody.Split(body, true, jsonbody.DefaultLimits, func(pos jsonbody.Position, obj jsonbody.Value) error {
		recs, err := litellm.NormalizePayload(nil, obj)
		require.NoError(t, err, pos)
		id, _ := obj.Lookup("litellm_call_id")
		out[id.Str] = recs
		return nil
	}))
	return out
}

// Each row of docs/records.md's LiteLLM verdict table, on its fixture call.
func TestLiteLLMVerdictTable(t *testing.T) {
	calls := liteLLMCalls(t)
	const prefix = "c0a8e1f2-0000-4000-8000-00000000000"
	for _, row := range []struct {
		name, call          string
		index               int
		decision, effective string
		raw, policy, stage  string
		categories          []string
	}{
		{"success allows", "1", 0, "allow", "allow", "success", "gd-eu-pii-001", "request", []string{}},
		{"masked entities redact", "2", 0, "redact", "redact", "guardrail_intervened", "gd-eu-pii-001", "request", []string{}},
		{"a second guardrail of the call", "2", 1, "allow", "allow", "success", "gd-tox-007", "response", []string{}},
		{"a 4xx failure denies", "3", 0, "deny", "deny", "guardrail_intervened", "gd-pi-002", "request", []string{"prompt_injection"}},
		{"an intervention that let the call through modifies", "4", 0, "modify", "modify", "guardrail_intervened", "gd-tone-003", "response", []string{"insult", "profanity"}},
		{"no answer, call succeeded: fail-open", "5", 0, "allow", "allow", "guardrail_failed_to_respond", "gd-sec-004", "request", []string{}},
		{"no answer, call failed: fail-closed", "6", 0, "deny", "deny", "guardrail_failed_to_respond", "gd-sec-004", "request", []string{}},
		{"a flag escalates and the call goes on", "7", 0, "escalate", "allow", "guardrail_flagged", "gd-jb-005", "request", []string{}},
	} {
		t.Run(row.name, func(t *testing.T) {
			recs := calls[prefix+row.call]
			require.Greater(t, len(recs), row.index)
			r := recs[row.index]
			assert.Equal(t, row.decision, r.Decision)
			assert.Equal(t, row.effective, r.EffectiveDecision)
			assert.Equal(t, row.raw, r.DecisionRaw)
			assert.Equal(t, row.policy, r.PolicyID)
			assert.Equal(t, record.UnknownPolicyVersion, r.PolicyVersion)
			assert.Equal(t, row.stage, r.Stage)
			assert.Equal(t, row.categories, r.TriggeredCategories)
			assert.Equal(t, record.RolloutEnforced, r.RolloutMode)
			assert.Equal(t, prefix+row.call, r.CorrelationID, "the call's ID correlates its guardrails")
			assert.Equal(t, "litellm", r.Gateway)
			assert.Empty(t, r.TraceID, "LiteLLM's own trace_id is not W3C")
		})
	}
	assert.Len(t, calls[prefix+"2"], 2, "two guardrails, two records")
	assert.Empty(t, calls[prefix+"8"], "no guardrail ran")
	assert.Empty(t, calls[prefix+"9"], "not_run")
	assert.Equal(t, "proj-support", calls[prefix+"7"][0].ProjectID, "the key's project before its team")
	assert.Equal(t, "customer-1042", calls[prefix+"7"][0].PolicyUser, "end_user without a key alias")
	assert.Equal(t, "billing-svc", calls[prefix+"1"][0].PolicyUser)
}

// An unknown status refuses the payload, naming the guardrail.
func TestLiteLLMUnknownStatus(t *testing.T) {
	_, err := litellm.NormalizePayload(nil, jsonbody.FromAny(map[string]any{
		"litellm_call_id": "c", "startTime": 1795430400.5, "status": "success",
		"guardrail_information": []any{map[string]any{"guardrail_name": "g", "guardrail_status": "maybe"}},
	}))
	var fe *record.FieldError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "guardrail_information[0].guardrail_status", fe.Field)
}

// A guardrail edit joins to the decisions under it by policy_id.
func TestLiteLLMAuditJoinsItsGuardrail(t *testing.T) {
	body, err := os.ReadFile(filepath.Join(testfixtures.Dir, "litellm-audit.ndjson"))
	require.NoError(t, err)
	var admins []*record.Record
	require.NoError(t, jsonbody.Split(body, true, jsonbody.DefaultLimits, func(_ jsonbody.Position, obj jsonbody.Value) error {
		recs, err := litellm.NormalizePayload(nil, obj)
		require.NoError(t, err)
		admins = append(admins, recs...)
		return nil
	}))
	require.Len(t, admins, 2)
	edit := admins[0]
	assert.Equal(t, record.KindAdmin, edit.Kind)
	assert.Equal(t, "litellm_guardrailstable.updated", edit.Action)
	assert.Equal(t, "alice@example.com", edit.Actor.ID)
	deny := liteLLMCalls(t)["c0a8e1f2-0000-4000-8000-000000000003"][0]
	assert.Equal(t, deny.PolicyID, edit.PolicyID, "the deny joins to the edit of its guardrail")
	assert.True(t, edit.CreatedAt.Before(deny.CreatedAt))
	rotate := admins[1]
	assert.Equal(t, "litellm_verificationtoken.rotated", rotate.Action)
	assert.Equal(t, "service", rotate.Actor.Type)
	assert.Empty(t, rotate.PolicyID)
}

// One call cannot become more records than litellm.MaxGuardrailsPerCall.
func TestLiteLLMGuardrailsPerCallAreBounded(t *testing.T) {
	guards := make([]any, litellm.MaxGuardrailsPerCall+1)
	for i := range guards {
		guards[i] = map[string]any{"guardrail_name": "g", "guardrail_status": "success"}
	}
	call := map[string]any{"litellm_call_id": "c", "startTime": 1795420800.5, "status": "success", "guardrail_information": guards}
	_, err := litellm.NormalizePayload(nil, jsonbody.FromAny(call))
	var fe *record.FieldError
	require.ErrorAs(t, err, &fe)
	assert.Equal(t, "guardrail_information", fe.Field)
	call["guardrail_information"] = guards[:litellm.MaxGuardrailsPerCall]
	recs, err := litellm.NormalizePayload(nil, jsonbody.FromAny(call))
	require.NoError(t, err)
	assert.Len(t, recs, litellm.MaxGuardrailsPerCall)
}

// A call's tokens, cost (US dollars) and time go on its first record only:
// the records of its other guardrails carry none, so sums count it once.
func TestLiteLLMUsageOnTheCallsFirstRecord(t *testing.T) {
	obj, err := jsonbody.DecodeObject([]byte(`{"litellm_call_id":"u-1","call_type":"acompletion","status":"success","model":"gpt-4.1",`+
		`"startTime":1795420800.0,"endTime":1795420801.25,"prompt_tokens":120,"completion_tokens":30,"total_tokens":150,"response_cost":0.00042,`+
		`"metadata":{"user_api_key_alias":"billing-svc"},"guardrail_information":[`+
		`{"guardrail_name":"a","guardrail_mode":"pre_call","guardrail_status":"success","start_time":1795420800.0},`+
		`{"guardrail_name":"b","guardrail_mode":"post_call","guardrail_status":"success","start_time":1795420801.0}]}`), jsonbody.DefaultLimits)
	require.NoError(t, err)
	recs, err := litellm.NormalizePayload(nil, obj)
	require.NoError(t, err)
	require.Len(t, recs, 2)
	assert.Equal(t, map[string]any{"input_tokens": int64(120), "output_tokens": int64(30), "total_tokens": int64(150),
		"cost": 0.00042, "currency": "USD", "latency_ms": int64(1250)}, recs[0].Usage)
	assert.Nil(t, recs[1].Usage)
	assert.Empty(t, recs[0].Extra["response_cost"], "not kept twice")
}
