// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package record_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/policyaudit/policyaudit/internal/dialects"
	"github.com/policyaudit/policyaudit/internal/jsonbody"
	"github.com/policyaudit/policyaudit/internal/record"
)

func decode(t *testing.T, s string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var m map[string]any
	require.NoError(t, dec.Decode(&m))
	return m
}

func decision(t *testing.T, s string) *record.Record {
	t.Helper()
	r, err := record.Normalize(decode(t, s), record.Hints{Kind: record.KindDecision})
	require.NoError(t, err)
	return named(r)
}

// unkeyed names records as the processor does without an id_key.
var unkeyed = record.NewNamer(nil)

// named gives r the identifiers the processor derives for it.
func named(r *record.Record) *record.Record {
	m := pcommon.NewMap()
	r.CopyTo(m)
	unkeyed.Name(r, m)
	return r
}

func TestVendorVerdictMapping(t *testing.T) {
	for raw, want := range map[string]string{
		"allow": "allow", "pass": "allow", "permit": "allow", "allowed": "allow", "true": "allow", "PERMIT": "allow",
		"deny": "deny", "refuse": "deny", "block": "deny", "reject": "deny", "denied": "deny", "Blocked": "",
		"modify": "modify", "rewrite": "modify", "ReWrite": "modify",
		"redact": "redact", "mask": "redact",
		"escalate": "escalate", "review": "escalate", "flag": "escalate",
		"obliterate": "",
	} {
		got, ok := record.MapVerdict(raw)
		assert.Equal(t, want != "", ok, raw)
		assert.Equal(t, want, got, raw)
	}
}

func TestDecisionAndVerdictInputNames(t *testing.T) {
	base := `"policy_id":"p","ts":1768608000`
	for _, tc := range []struct{ in, decision, raw string }{
		{`"decision":"allow"`, "allow", ""},
		{`"verdict":"Refuse"`, "deny", "Refuse"},
		{`"action":"mask"`, "redact", "mask"},
		{`"result":true`, "allow", "true"},
		{`"decision":"deny","verdict":"allow"`, "deny", ""}, // first match wins
	} {
		r := decision(t, "{"+base+","+tc.in+"}")
		assert.Equal(t, tc.decision, r.Decision, tc.in)
		assert.Equal(t, tc.raw, r.DecisionRaw, tc.in)
	}
}

func TestEffectiveDecisionByRolloutMode(t *testing.T) {
	for _, tc := range []struct {
		in, mode  string
		enforced  bool
		effective string
	}{
		{`"decision":"deny"`, "enforced", true, "deny"},
		{`"decision":"deny","mode":"enforce"`, "enforced", true, "deny"},
		{`"decision":"deny","rollout_mode":"shadow"`, "shadow", false, "allow"},
		{`"decision":"deny","rollout_mode":"shadow","enforced":true`, "shadow", true, "allow"},
		{`"decision":"deny","rollout_mode":"canary","enforced":true`, "canary", true, "deny"},               // in the cohort
		{`"decision":"deny","rollout_mode":"canary","enforced":false`, "canary", false, "allow"},            // outside it
		{`"decision":"deny","rollout_mode":"canary"`, "canary", false, "allow"},                             // cohort unknown: not enforced
		{`"decision":"deny","rollout_mode":"shadow","effective_decision":"block"`, "shadow", false, "deny"}, // given wins
	} {
		r := decision(t, `{"policy_id":"p","ts":1768608000,`+tc.in+`}`)
		assert.Equal(t, tc.mode, r.RolloutMode, tc.in)
		assert.Equal(t, tc.enforced, r.Enforced, tc.in)
		assert.Equal(t, tc.effective, r.EffectiveDecision, tc.in)
	}
}

func TestTimestampForms(t *testing.T) {
	want := "2026-01-17T00:00:00.123Z"
	for _, in := range []string{
		`"created_at":"2026-01-17T00:00:00.123Z"`,
		`"created_at":"2026-01-17T00:00:00.123999999Z"`, // truncated, never rounded up
		`"timestamp":"2026-01-17T01:00:00.123+01:00"`,
		`"time":1768608000.123`,
		`"ts":1768608000123`,
		`"ts":1768608000123456`,
		`"ts":1768608000123456789`,
		`"ts":"1768608000123"`,
	} {
		r := decision(t, `{"policy_id":"p","decision":"allow",`+in+`}`)
		assert.Equal(t, want, r.CreatedAtString(), in)
	}
	assert.Equal(t, "2026-01-17T00:00:00.000Z", decision(t, `{"policy_id":"p","decision":"allow","ts":1768608000}`).CreatedAtString())
	r := decision(t, `{"policy_id":"p","decision":"allow","created_at":"2026-01-16T23:59:59.9999Z"}`)
	assert.Equal(t, "2026-01-16", r.PartitionDate(), "a record a moment before midnight stays in its day")

	for _, bad := range []string{`"created_at":"yesterday"`, `"created_at":true`, `"ts":-5`, `"created_at":"2026-13-01T00:00:00Z"`} {
		_, err := record.Normalize(decode(t, `{"policy_id":"p","decision":"allow",`+bad+`}`), record.Hints{Kind: record.KindDecision})
		var fe *record.FieldError
		require.ErrorAs(t, err, &fe, bad)
		assert.Equal(t, "created_at", fe.Field)
	}
	_, err := record.Normalize(decode(t, `{"policy_id":"p","decision":"allow"}`), record.Hints{Kind: record.KindDecision})
	assert.EqualError(t, err, "created_at: missing (accepted: created_at, timestamp, time, ts)")
	r, err = record.Normalize(decode(t, `{"policy_id":"p","decision":"allow"}`), record.Hints{Timestamp: time.Unix(1768608000, 5e8)})
	require.NoError(t, err, "an OTLP log record's timestamp stands in")
	assert.Equal(t, "2026-01-17T00:00:00.500Z", r.CreatedAtString())
}

func TestCorrelationSources(t *testing.T) {
	base := `"policy_id":"p","decision":"allow","ts":1768608000`
	for _, tc := range []struct{ in, correlation, traceID, spanID string }{
		{`"correlation_id":"c-1","request_id":"r-1"`, "c-1", "", ""},
		{`"request_id":"r-1","x_request_id":"x-1"`, "r-1", "", ""},
		{`"x_request_id":"x-1"`, "x-1", "", ""},
		{`"trace_id":"4BF92F3577B34DA6A3CE929D0E0E4736","span_id":"00F067AA0BA902B7"`, "4bf92f3577b34da6a3ce929d0e0e4736", "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"},
		// A trace_id without a span_id is no trace context: traceparent wins
		// there, while the trace_id is the correlation source it comes before.
		{`"trace_id":"0af7651916cd43dd8448eb211c80319c","traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"`, "0af7651916cd43dd8448eb211c80319c", "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"},
		{`"trace_id":"0af7651916cd43dd8448eb211c80319c"`, "0af7651916cd43dd8448eb211c80319c", "0af7651916cd43dd8448eb211c80319c", ""},
		{`"traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"`, "4bf92f3577b34da6a3ce929d0e0e4736", "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"},
		{`"request_id":"r-1","traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"`, "r-1", "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"},
		{`"trace_id":"not-hex"`, "", "", ""},                                                    // invalid: kept in extra, not used
		{`"traceparent":"00-00000000000000000000000000000000-00f067aa0ba902b7-01"`, "", "", ""}, // invalid: kept in extra
	} {
		r := decision(t, "{"+base+","+tc.in+"}")
		if tc.correlation == "" {
			assert.True(t, r.CorrelationGenerated, tc.in)
			assert.True(t, r.Extra["traceparent"] != nil || r.Extra["trace_id"] != nil, "the invalid one is kept: %v", r.Extra)
		} else {
			assert.Equal(t, tc.correlation, r.CorrelationID, tc.in)
			assert.False(t, r.CorrelationGenerated, tc.in)
		}
		assert.Equal(t, tc.traceID, r.TraceID, tc.in)
		assert.Equal(t, tc.spanID, r.SpanID, tc.in)
	}

	a := decision(t, "{"+base+"}")
	b := decision(t, `{"ts":1768608000,"decision":"allow","policy_id":"p"}`)
	assert.True(t, a.CorrelationGenerated)
	assert.Equal(t, a.EventID, b.EventID, "key order does not change the derived event_id")
	assert.Equal(t, a.CorrelationID, b.CorrelationID, "nor the generated correlation_id")
	assert.NotEqual(t, a.EventID, decision(t, `{"ts":1768608001,"decision":"allow","policy_id":"p"}`).EventID)
}

func TestRouterDialectNestedFieldsAndExtra(t *testing.T) {
	r := decision(t, `{"timestamp":"2026-03-02T09:15:00Z","verdict":"deny","policy":{"id":"pi","version":"4","owner":"secops"},"caller":{"api_key_id":"k1","user":"alice","team":"support"},"gen_ai.request.model":"gpt-4.1","phase":"response","tags":"confidential","service.name":"gw-eu-1","temperature":0.2}`)
	assert.Equal(t, "pi", r.PolicyID)
	assert.Equal(t, "4", r.PolicyVersion)
	assert.Equal(t, "alice", r.PolicyUser)
	assert.Equal(t, "k1", r.APIKeyID)
	assert.Equal(t, "gpt-4.1", r.Model)
	assert.Equal(t, "response", r.Stage)
	assert.Equal(t, []string{"confidential"}, r.Classification)
	assert.Equal(t, "gw-eu-1", r.Gateway)
	assert.Equal(t, map[string]any{
		"policy":      map[string]any{"owner": "secops"},
		"caller":      map[string]any{"team": "support"},
		"temperature": 0.2,
	}, r.Extra, "unknown input is kept, never dropped")
	assert.Equal(t, []string{}, r.TriggeredCategories, "lists are present even when empty")

	assert.Equal(t, "7", decision(t, `{"policy":"p","decision":"allow","ts":1,"policy_version":7}`).PolicyVersion, "a numeric version is its text")
}

func TestDecisionSchemaErrors(t *testing.T) {
	for in, want := range map[string]string{
		`{"decision":"deny","ts":1}`:                                                   "policy_id: missing (accepted: policy_id, policy.id, policy)",
		`{"policy_id":"p","ts":1}`:                                                     "decision: missing (accepted: decision, verdict, action, result)",
		`{"policy_id":"p","decision":"obliterate","ts":1}`:                             `decision: unknown verdict "obliterate" in "decision"`,
		`{"policy_id":"p","decision":"allow","ts":1,"rollout_mode":"maybe"}`:           `rollout_mode: unknown rollout mode "maybe" (accepted: shadow, canary, enforced)`,
		`{"policy_id":"p","decision":"allow","ts":1,"stage":"middle"}`:                 `stage: unknown stage "middle" (accepted: request, response)`,
		`{"policy_id":1.5,"decision":"allow","ts":1,"enforced":"yes"}`:                 `enforced: must be a boolean, got a string`,
		`{"policy_id":{"x":1},"decision":"allow","ts":1}`:                              `policy_id: "policy_id" must be a string, got an object`,
		`{"policy_id":"p","decision":"allow","ts":1,"triggered_categories":[{"a":1}]}`: `triggered_categories: element 0 must be a string, got an object`,
		`{"policy_id":"p","decision":"allow","ts":1,"schema_version":"2"}`:             `schema_version: unsupported schema version 2`,
	} {
		_, err := record.Normalize(decode(t, in), record.Hints{Kind: record.KindDecision})
		assert.EqualError(t, err, want, in)
	}
}

func TestAdminEvents(t *testing.T) {
	admin := func(s string) (*record.Record, error) {
		return record.Normalize(decode(t, s), record.Hints{Kind: record.KindAdmin})
	}
	r, err := admin(`{"ts":1,"actor":"sk-live-key","operation":"Key.Revoke","target":"key_9","status":"failed"}`)
	require.NoError(t, err)
	assert.Equal(t, record.Actor{ID: "sk-live-key", Type: "api_key"}, r.Actor)
	assert.Equal(t, "key.revoke", r.Action, "actions are lower case")
	assert.Equal(t, record.Resource{Type: "key", ID: "key_9"}, r.Resource, "the type defaults to the action's resource part")
	assert.Equal(t, "failure", r.Outcome)

	r, err = admin(`{"ts":1,"admin":{"id":"ops","type":"service","ip":"10.0.0.1","session":"s1"},"event":"policy.publish","resource":{"type":"policy","id":"pi"},"changes":{"to_version":"9"}}`)
	require.NoError(t, err)
	assert.Equal(t, "pi", r.PolicyID, "a policy resource names the policy")
	assert.Equal(t, "9", r.PolicyVersion, "the version the change produced")
	assert.Equal(t, map[string]any{"actor": map[string]any{"session": "s1"}}, r.Extra)

	for in, want := range map[string]string{
		`{"ts":1,"actor":"x","action":"DROP TABLE policies","resource":{"id":"p"}}`:          `action: "DROP TABLE policies" is not of the form <resource>.<verb> (e.g. policy.update)`,
		`{"ts":1,"action":"policy.update","resource":"p"}`:                                   "actor: missing (accepted: actor, user, admin)",
		`{"ts":1,"actor":{"id":"a","type":"robot"},"action":"policy.update","resource":"p"}`: `actor.type: unknown actor type "robot" (accepted: user, service, api_key)`,
		`{"ts":1,"actor":"a","action":"policy.update"}`:                                      "resource: missing (accepted: resource, target)",
		`{"ts":1,"actor":"a","action":"policy.update","resource":"p","outcome":"meh"}`:       `outcome: unknown outcome "meh" (accepted: success, failure)`,
		`{"ts":1,"actor":"a","action":"policy.update","resource":"p","details":"x"}`:         `details: "details" must be an object, got a string`,
	} {
		_, err := admin(in)
		assert.EqualError(t, err, want, in)
	}
}

func TestKindInference(t *testing.T) {
	for in, want := range map[string]record.Kind{
		`{"policy_id":"p","decision":"allow","ts":1}`:                                                                                                   record.KindDecision,
		`{"actor":"a","action":"policy.update","resource":"p","ts":1}`:                                                                                  record.KindAdmin,
		`{"decision_id":"d","result":{"decision":"deny","policy_id":"p"},"timestamp":"2026-01-01T00:00:00Z"}`:                                           record.KindDecision,
		`{"event_kind":"admin_audit","actor":{"id":"a","type":"user"},"action":"key.revoke","resource":{"id":"k"},"created_at":"2026-01-01T00:00:00Z"}`: record.KindAdmin,
	} {
		// As the processor reads a body with no endpoint: an OPA event by
		// its dialect's shape, the rest by the contract's inference.
		recs, _, err := dialects.Normalize(nil, jsonbody.FromAny(decode(t, in)), record.Hints{})
		require.NoError(t, err, in)
		assert.Equal(t, want, recs[0].Kind, in)
	}
	_, err := record.Normalize(decode(t, `{"event_kind":"admin_audit"}`), record.Hints{Kind: record.KindDecision})
	assert.EqualError(t, err, `event_kind: "admin_audit" posted as a policy decision`)
}
