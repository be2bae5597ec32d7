// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package ocsf_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/policyaudit/policyaudit/internal/ocsf"
	"github.com/policyaudit/policyaudit/internal/pdatajson"
	"github.com/policyaudit/policyaudit/internal/record"
)

// bodies are the events (and findings) of this package's test records;
// the third is an enforced allow: an API Activity with a caller, resources
// and unmapped fields.
func bodies(t *testing.T) []pcommon.Map {
	t.Helper()
	recs := []*record.Record{
		{Kind: record.KindDecision, EventID: "e", CorrelationID: "c", CreatedAt: time.Unix(1768600000, 0),
			Decision: "deny", EffectiveDecision: "deny", RolloutMode: record.RolloutEnforced, Enforced: true,
			ReasonCode: "DENY", PolicyID: "p", PolicyVersion: record.UnknownPolicyVersion},
	}
	for _, verdict := range []string{record.DecisionAllow, record.DecisionDeny, record.DecisionModify, record.DecisionRedact, record.DecisionEscalate} {
		recs = append(recs, decision(verdict, record.RolloutEnforced, true), decision(verdict, record.RolloutShadow, false))
	}
	for _, action := range []string{"policy.update", "guardrail.disable", "key.frobnicate"} {
		recs = append(recs, &record.Record{Kind: record.KindAdmin, EventID: "a", CorrelationID: "c", CreatedAt: time.Unix(1768600000, 0),
			Actor: record.Actor{ID: "alice", Type: "user", IP: "203.0.113.7"}, Action: action,
			Resource: record.Resource{Type: "policy", ID: "p-1", Name: "P"}, Outcome: "success", PolicyID: "p-1", PolicyVersion: "v2",
			Details: map[string]any{"from_version": "v1", "reason": "r", "n": int64(3), "f": 1.5, "list": []any{"x", int64(1)}}})
	}
	var out []pcommon.Map
	for _, rec := range recs {
		canonical := pcommon.NewMap()
		rec.CopyTo(canonical)
		ev := pcommon.NewMap()
		ocsf.Event(rec, canonical, product, ev)
		out = append(out, ev)
		if ocsf.WantsFinding(rec) {
			f := pcommon.NewMap()
			ocsf.Finding(rec, canonical, product, f)
			out = append(out, f)
		}
	}
	return out
}

// Every event the mapping makes reads into an EventRow and writes back
// as the same body, key for key and in the same order: the one definition
// holds all the mapping writes.
func TestBodyRowBodyRoundTrips(t *testing.T) {
	for i, ev := range bodies(t) {
		body := pcommon.NewValueMap()
		ev.CopyTo(body.Map())
		var row ocsf.EventRow
		require.NoError(t, ocsf.DecodeBody(body, &row), "event %d", i)
		back := pcommon.NewMap()
		ocsf.PutBody(&row, back)
		assert.Equal(t, string(pdatajson.AppendMap(nil, ev)), string(pdatajson.AppendMap(nil, back)), "event %d", i)
	}
}

// A body the row cannot hold is refused, naming where: a key EventRow
// lacks, at any depth, and a value of another type.
func TestDecodeBodyRefuses(t *testing.T) {
	event := func() pcommon.Value {
		v := pcommon.NewValueMap()
		bodies(t)[2].CopyTo(v.Map())
		return v
	}
	for want, change := range map[string]func(m pcommon.Map){
		`unknown field "verdict"`:                             func(m pcommon.Map) { m.PutStr("verdict", "deny") },
		`unknown field "api.verb"`:                            func(m pcommon.Map) { m.PutEmptyMap("api").PutStr("verb", "POST") },
		`unknown field "authorizations[0].reason"`:            func(m pcommon.Map) { v, _ := m.Get("authorizations"); v.Slice().At(0).Map().PutStr("reason", "r") },
		`time: str where OCSF has an integer`:                 func(m pcommon.Map) { m.PutStr("time", "2026-01-16") },
		`class_uid: int where OCSF has an integer of 32 bits`: func(m pcommon.Map) { m.PutInt("class_uid", 1<<40) },
		`metadata.profiles: str where OCSF has an array`:      func(m pcommon.Map) { v, _ := m.Get("metadata"); v.Map().PutStr("profiles", "x") },
		`resources[0].type: int where OCSF has a string`: func(m pcommon.Map) {
			v, _ := m.Get("resources")
			v.Slice().At(0).Map().PutInt("type", 1)
		},
		`is_alert: str where OCSF has a boolean`: func(m pcommon.Map) { m.PutStr("is_alert", "true") },
		`unmapped: str where OCSF has an object`: func(m pcommon.Map) { m.PutStr("unmapped", "x") },
	} {
		body := event()
		change(body.Map())
		var row ocsf.EventRow
		assert.ErrorContains(t, ocsf.DecodeBody(body, &row), want)
	}
	var row ocsf.EventRow
	assert.ErrorContains(t, ocsf.DecodeBody(pcommon.NewValueStr("{}"), &row), "the body: str where OCSF has an object")
}

// A null is an attribute left out, and a double without a fraction is an
// integer (as in a body parsed from JSON); a fraction is not.
func TestDecodeBodyNullsAndDoubles(t *testing.T) {
	body := pcommon.NewValueMap()
	bodies(t)[2].CopyTo(body.Map())
	body.Map().PutEmpty("status_detail")
	body.Map().PutDouble("class_uid", 6003)
	var row ocsf.EventRow
	require.NoError(t, ocsf.DecodeBody(body, &row))
	assert.Nil(t, row.StatusDetail)
	assert.Equal(t, int32(6003), row.ClassUID)
	body.Map().PutDouble("class_uid", 6003.5)
	assert.ErrorContains(t, ocsf.DecodeBody(body, &row), "class_uid: double where OCSF has an integer")
}
