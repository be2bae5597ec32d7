// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package opa_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/policyaudit/policyaudit/internal/dialect/opa"
	"github.com/policyaudit/policyaudit/internal/jsonbody"
	"github.com/policyaudit/policyaudit/internal/pdatajson"
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

// A repeated key counts once, its last value (as encoding/json decides),
// in the event and in its input, result and bundles; values of other types
// than OPA's are read as they always were, or refused with the same error.
func TestOPARepeatedKeysAndOtherTypes(t *testing.T) {
	for _, c := range []struct{ name, in, want, err string }{
		{
			name: "an event",
			in: `{"decision_id":"d0","decision_id":"d1","path":"x/allow","path":7,"timestamp":"2026-03-02T10:00:00Z","labels":{"id":"a","id":"b"},
				"input":{"user":"u1","user":"u2","model":5,"prompt":"p1","prompt":"p2","project":null},
				"bundles":{"b":{"revision":"r1"},"a":{"revision":3},"b":{"revision":"r2"},"c":{"revision":null}},
				"result":{"allow":true,"allow":false,"policy":"p","reasons":["r"]}}`, want: "{\"allowlist_hits\":[],\"correlation_generated\":true,\"correlation_id\":\"\",\"created_at\":\"2026-03-02T10:00:00.000Z\",\"decision\":\"deny\",\"decision_raw\":\"false\",\"denylist_hits\":[],\"effective_decision\":\"deny\",\"enforced\":true,\"event_id\":\"d1\",\"event_kind\":\"policy_decision\",\"extra\":{\"input\":{\"prompt\":\"p2\"},\"labels\":{\"id\":\"b\"},\"path\":7,\"project\":null,\"reasons\":[\"r\"]},\"model\":\"5\",\"policy_id\":\"p\",\"policy_user\":\"u2\",\"policy_version\":\"a=3,b=r2\",\"reason_code\":\"FALSE\",\"rollout_mode\":\"enforced\",\"schema_version\":\"1\",\"triggered_categories\":[]}", err: "",
		},
		{name: "one bundle twice", in: `{"decision_id":"d","result":"deny","bundles":{"b":{"revision":"r1"},"b":{"revision":"r2"}},"timestamp":"2026-03-02T10:00:00Z","input":"text"}`, want: "{\"allowlist_hits\":[],\"correlation_generated\":true,\"correlation_id\":\"\",\"created_at\":\"2026-03-02T10:00:00.000Z\",\"decision\":\"deny\",\"denylist_hits\":[],\"effective_decision\":\"deny\",\"enforced\":true,\"event_id\":\"d\",\"event_kind\":\"policy_decision\",\"extra\":{\"input\":\"text\"},\"policy_id\":\"\",\"policy_version\":\"r2\",\"reason_code\":\"DENY\",\"rollout_mode\":\"enforced\",\"schema_version\":\"1\",\"triggered_categories\":[]}", err: "policy_id: missing (accepted: policy_id, policy.id, policy)"},
		{name: "a result a list", in: `{"decision_id":"d","result":{},"result":[1],"timestamp":"2026-03-02T10:00:00Z","policy_id":"p"}`, want: "{\"allowlist_hits\":[],\"correlation_generated\":true,\"correlation_id\":\"\",\"created_at\":\"2026-03-02T10:00:00.000Z\",\"decision\":\"\",\"denylist_hits\":[],\"effective_decision\":\"\",\"enforced\":true,\"event_id\":\"d\",\"event_kind\":\"policy_decision\",\"policy_id\":\"p\",\"policy_version\":\"unknown\",\"reason_code\":\"\",\"rollout_mode\":\"enforced\",\"schema_version\":\"1\",\"triggered_categories\":[]}", err: "decision: \"decision\" must be a string, got a list"},
		{name: "a user a number", in: `{"decision_id":"d","result":true,"path":"p","timestamp":"2026-03-02T10:00:00Z","input":{"user":{"id":1}}}`, want: "{\"allowlist_hits\":[],\"correlation_generated\":true,\"correlation_id\":\"\",\"created_at\":\"2026-03-02T10:00:00.000Z\",\"decision\":\"allow\",\"decision_raw\":\"true\",\"denylist_hits\":[],\"effective_decision\":\"allow\",\"enforced\":true,\"event_id\":\"d\",\"event_kind\":\"policy_decision\",\"extra\":{\"path\":\"p\"},\"policy_id\":\"p\",\"policy_version\":\"unknown\",\"reason_code\":\"TRUE\",\"rollout_mode\":\"enforced\",\"schema_version\":\"1\",\"triggered_categories\":[]}", err: "policy_user: \"user\" must be a string, got an object"},
	} {
		t.Run(c.name, func(t *testing.T) {
			obj, err := jsonbody.DecodeObject([]byte(c.in), jsonbody.DefaultLimits)
			require.NoError(t, err)
			recs, err := opa.Normalize(nil, obj, record.Hints{})
			require.Len(t, recs, 1)
			m := pcommon.NewMap()
			recs[0].CopyTo(m)
			got, gotErr := string(pdatajson.AppendCanonicalMap(nil, m)), ""
			if err != nil {
				gotErr = err.Error()
			}
			t.Logf("\nwant: %q,\nerr: %q,", got, gotErr)
			assert.Equal(t, c.want, got)
			assert.Equal(t, c.err, gotErr)
		})
	}
}
