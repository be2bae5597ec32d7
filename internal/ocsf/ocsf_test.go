// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package ocsf_test

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/policyaudit/policyaudit/internal/ocsf"
	"github.com/policyaudit/policyaudit/internal/ocsf/ocsftest"
	"github.com/policyaudit/policyaudit/internal/record"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var product = ocsf.Product{Name: "policyaudit", Vendor: "policyaudit", Version: "test"}

func schema(t *testing.T) *ocsftest.Schema {
	t.Helper()
	s, err := ocsftest.Load(filepath.Join("testdata", "ocsf-schema.json"))
	require.NoError(t, err)
	require.Equal(t, ocsf.Version, s.Version, "the extract is of the version the events declare")
	return s
}

// decision is a fixture-like decision with every field set.
func decision(verdict, mode string, enforced bool) *record.Record {
	return &record.Record{
		Kind: record.KindDecision, EventID: "evt-1", CorrelationID: "req-7f3a9c",
		CreatedAt: time.Date(2026, 1, 16, 18, 22, 11, 250e6, time.UTC),
		TraceID:   "4bf92f3577b34da6a3ce929d0e0e4736", SpanID: "00f067aa0ba902b7",
		Decision: verdict, EffectiveDecision: effective(verdict, enforced), RolloutMode: mode, Enforced: enforced,
		ReasonCode: "PROMPT_INJECTION", PolicyID: "support-guardrails", PolicyVersion: "v7",
		PolicyUser: "user-12345", APIKeyID: "key_9f2", ProjectID: "support-bot", PolicyTarget: "chat.completions",
		Model: "gpt-4o-mini", Provider: "openai", Stage: "request",
		TriggeredCategories: []string{"prompt_injection"}, AllowlistHits: []string{}, DenylistHits: []string{"ignore previous"},
		Gateway: "litellm", Extra: map[string]any{"latency_ms": int64(12)},
	}
}

func effective(verdict string, enforced bool) string {
	if !enforced {
		return record.DecisionAllow
	}
	return verdict
}

// event maps rec and validates it; the finding too when there is one.
func event(t *testing.T, s *ocsftest.Schema, rec *record.Record) map[string]any {
	t.Helper()
	canonical := pcommon.NewMap()
	rec.CopyTo(canonical)
	ev := pcommon.NewMap()
	class, typeUID := ocsf.Event(rec, canonical, product, ev)
	raw := ev.AsRaw()
	assert.Equal(t, class, raw["class_uid"])
	assert.Equal(t, typeUID, raw["type_uid"])
	assert.Empty(t, s.Validate(raw), "not valid OCSF %s", ocsf.Version)
	out := map[string]any{"event": raw}
	if ocsf.WantsFinding(rec) {
		f := pcommon.NewMap()
		ocsf.Finding(rec, canonical, product, f)
		assert.Empty(t, s.Validate(f.AsRaw()), "the finding is not valid OCSF %s", ocsf.Version)
		out["finding"] = f.AsRaw()
	}
	return out
}

func golden(t *testing.T, name string, got map[string]any) {
	t.Helper()
	b, err := json.MarshalIndent(got, "", "  ")
	require.NoError(t, err)
	path := filepath.Join("testdata", "golden", name+".json")
	if *update {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, append(b, '\n'), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./internal/ocsf -args -update")
	assert.JSONEq(t, string(want), string(b))
}

// One golden event per verdict and rollout mode: the table of
// docs/records.md section 13 as the code implements it.
func TestDecisionPerVerdictAndMode(t *testing.T) {
	s := schema(t)
	modes := []struct {
		name, mode string
		enforced   bool
	}{
		{"enforced", record.RolloutEnforced, true},
		{"shadow", record.RolloutShadow, false},
		{"canary-in-cohort", record.RolloutCanary, true},
		{"canary-outside", record.RolloutCanary, false},
	}
	for _, verdict := range []string{record.DecisionAllow, record.DecisionDeny, record.DecisionModify, record.DecisionRedact, record.DecisionEscalate} {
		for _, m := range modes {
			t.Run(verdict+"-"+m.name, func(t *testing.T) {
				golden(t, "decision-"+verdict+"-"+m.name, event(t, s, decision(verdict, m.mode, m.enforced)))
			})
		}
	}
}

// A decision naming only what the contract requires is still valid: every
// attribute OCSF requires has a value.
func TestMinimalDecision(t *testing.T) {
	s := schema(t)
	rec := &record.Record{Kind: record.KindDecision, EventID: "e", CorrelationID: "c", CreatedAt: time.Unix(1768600000, 0),
		Decision: "deny", EffectiveDecision: "deny", RolloutMode: record.RolloutEnforced, Enforced: true,
		ReasonCode: "DENY", PolicyID: "p", PolicyVersion: record.UnknownPolicyVersion}
	golden(t, "decision-minimal", event(t, s, rec))
}

// A call's usage: tokens in the AI Operation profile's message_context,
// the upstream's status and latency in http_response (and duration), the
// path in http_request.url; cost and currency in unmapped.usage. Without a
// provider the tokens name the gateway as the service, and the profile is
// declared for them alone.
func TestDecisionWithUsage(t *testing.T) {
	s := schema(t)
	rec := decision(record.DecisionDeny, record.RolloutEnforced, true)
	rec.Provider = ""
	rec.Usage = map[string]any{record.UsageInputTokens: int64(1200), record.UsageOutputTokens: int64(0), record.UsageTotalTokens: int64(1200),
		record.UsageCost: 0.0042, record.UsageCurrency: "USD", record.UsageLatencyMS: int64(87), record.UsageStatusCode: int64(403),
		record.UsageRequestPath: "/v1/chat/completions"}
	got := event(t, s, rec)
	golden(t, "decision-usage", got)
	ev := got["event"].(map[string]any)
	assert.Equal(t, map[string]any{"prompt_tokens": int64(1200), "completion_tokens": int64(0), "total_tokens": int64(1200),
		"service": map[string]any{"name": "litellm"}}, ev["message_context"])
	assert.Equal(t, map[string]any{"code": int64(403), "latency": int64(87)}, ev["http_response"])
	assert.Equal(t, int64(87), ev["duration"])
	assert.Equal(t, map[string]any{"url": map[string]any{"path": "/v1/chat/completions"}}, ev["http_request"])
	assert.Equal(t, map[string]any{"cost": 0.0042, "currency": "USD"}, ev["unmapped"].(map[string]any)["usage"])
	assert.Contains(t, ev["metadata"].(map[string]any)["profiles"], "ai_operation")
}

func TestAdminPerVerb(t *testing.T) {
	s := schema(t)
	for _, action := range []string{"policy.create", "policy.update", "policy.delete", "guardrail.disable", "key.revoke"} {
		t.Run(action, func(t *testing.T) {
			typ := action[:len(action)-len(filepath.Ext(action))]
			rec := &record.Record{Kind: record.KindAdmin, EventID: "adm-1", CorrelationID: "req-1",
				CreatedAt: time.Date(2026, 1, 16, 17, 0, 0, 0, time.UTC),
				Actor:     record.Actor{ID: "alice@example.com", Type: "user", IP: "203.0.113.7"},
				Action:    action, Resource: record.Resource{Type: typ, ID: typ + "-1", Name: "Support guardrails"},
				Outcome: "success", Details: map[string]any{"from_version": "v6", "to_version": "v7", "reason": "tighten injection rules"},
			}
			if typ == "policy" {
				rec.PolicyID, rec.PolicyVersion = rec.Resource.ID, "v7"
			}
			golden(t, "admin-"+action, event(t, s, rec))
		})
	}
}

// The validator is not a test that cannot fail: it refuses what is not OCSF.
func TestValidatorRefuses(t *testing.T) {
	s := schema(t)
	base := func() map[string]any {
		return event(t, s, decision(record.DecisionDeny, record.RolloutEnforced, true))["event"].(map[string]any)
	}
	for name, change := range map[string]func(map[string]any){
		"an attribute outside the class": func(ev map[string]any) { ev["verdict"] = "deny" },
		"a required attribute missing":   func(ev map[string]any) { delete(ev, "src_endpoint") },
		"an undefined enum value":        func(ev map[string]any) { ev["disposition_id"] = int64(42) },
		"a wrong type":                   func(ev map[string]any) { ev["time"] = "2026-01-16" },
		"a constraint unmet": func(ev map[string]any) {
			delete(ev["policy"].(map[string]any), "uid")
			delete(ev["policy"].(map[string]any), "name")
		},
		"a profile not declared":         func(ev map[string]any) { ev["metadata"].(map[string]any)["profiles"] = []any{} },
		"a nested unknown attribute":     func(ev map[string]any) { ev["api"].(map[string]any)["verb"] = "POST" },
		"a type_uid not of the activity": func(ev map[string]any) { ev["type_uid"] = int64(600301) },
	} {
		ev := base()
		change(ev)
		assert.NotEmpty(t, s.Validate(ev), name)
	}
}

// Nothing canonical is lost: policy_id and policy_version that the entity
// does not carry (a resource that is not a policy, a failed change) stay
// under unmapped.
func TestAdminPolicyFieldsAreNeverDropped(t *testing.T) {
	s := schema(t)
	for name, rec := range map[string]*record.Record{
		"a guardrail naming its policy": {Resource: record.Resource{Type: "guardrail", ID: "g-1"}, Outcome: "success", PolicyID: "p-7", PolicyVersion: "v3"},
		"a failed policy change":        {Resource: record.Resource{Type: "policy", ID: "p-7"}, Outcome: "failure", PolicyID: "p-7", PolicyVersion: "v3"},
	} {
		rec.Kind, rec.EventID, rec.CorrelationID, rec.CreatedAt = record.KindAdmin, "a", "c", time.Unix(1768600000, 0)
		rec.Actor, rec.Action = record.Actor{ID: "alice", Type: "user"}, rec.Resource.Type+".update"
		ev := event(t, s, rec)["event"].(map[string]any)
		um, _ := ev["unmapped"].(map[string]any)
		if rec.Resource.Type == "policy" {
			assert.Equal(t, "p-7", ev["entity"].(map[string]any)["policy"].(map[string]any)["uid"], name)
		} else {
			assert.Equal(t, "p-7", um["policy_id"], name)
		}
		assert.Equal(t, "v3", um["policy_version"], name)
	}
}
