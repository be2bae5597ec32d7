// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

// Package litellm is the dialect of LiteLLM's logging payloads
// (docs/records.md, "LiteLLM"): a StandardLoggingPayload per LLM call, from
// its generic_api callback, holds the verdicts of the guardrails that ran in
// guardrail_information; a StandardAuditLogPayload is one change an
// administrator made. Each is flattened into the flat dialect and
// normalised like any record, so the same validation, limits and extra
// handling apply.
package litellm // import "github.com/policyaudit/policyaudit/internal/dialect/litellm"

import (
	"strconv"
	"strings"

	"github.com/policyaudit/policyaudit/internal/dialect"
	"github.com/policyaudit/policyaudit/internal/jsonbody"
	"github.com/policyaudit/policyaudit/internal/record"
)

// Dialect is LiteLLM's logging and audit payloads.
var Dialect = dialect.Dialect{
	Name:   "litellm",
	Path:   "/v1/litellm",
	Doc:    "LiteLLM's generic_api logging payloads (one record per guardrail) and audit payloads",
	Detect: Detect,
	Normalize: func(dst []*record.Record, obj jsonbody.Value, _ record.Hints) ([]*record.Record, error) {
		m, _ := obj.Interface().(map[string]any)
		recs, err := NormalizePayload(m)
		return append(dst, recs...), err
	},
	// The guardrail fields that quote the prompt.
	BodyFields: []string{"guardrail_request", "guardrail_response", "match_details", "guardrail_classification"},
	Fixtures:   []string{"litellm-calls.ndjson", "litellm-audit.ndjson"},
}

// Detect recognises LiteLLM's logging payload (guardrail_information beside
// LiteLLM's call ID) and its audit payload (table_name and changed_by).
func Detect(obj jsonbody.Value) bool {
	var guards, callID, table, changedBy bool
	for i := range obj.Items {
		switch obj.Items[i].Key {
		case "guardrail_information":
			guards = true
		case "litellm_call_id":
			callID = true
		case "table_name":
			table = true
		case "changed_by":
			changedBy = true
		}
	}
	return guards && callID || table && changedBy
}

// The guardrail statuses LiteLLM reports, and what each means here.
const (
	liteLLMSuccess     = "success"
	liteLLMIntervened  = "guardrail_intervened"
	liteLLMFlagged     = "guardrail_flagged"
	liteLLMFailed      = "guardrail_failed_to_respond"
	liteLLMNotRun      = "not_run"
	liteLLMGateway     = "litellm"
	liteLLMGuardrails  = "litellm_guardrailstable"
	liteLLMCallFailure = "failure"
)

// MaxGuardrailsPerCall bounds the records one LiteLLM call may give.
const MaxGuardrailsPerCall = 64

// isLiteLLMAudit reports whether a LiteLLM payload is an admin audit record.
func isLiteLLMAudit(p map[string]any) bool {
	_, table := p["table_name"]
	_, by := p["changed_by"]
	return table && by
}

// NormalizePayload turns one LiteLLM payload into canonical records: one
// decision per guardrail evaluation of a call (none when no guardrail ran),
// or one admin event for an audit payload.
func NormalizePayload(p map[string]any) ([]*record.Record, error) {
	if isLiteLLMAudit(p) {
		rec, err := record.Normalize(flattenLiteLLMAudit(p), record.Hints{Kind: record.KindAdmin})
		if err != nil {
			return nil, err
		}
		return []*record.Record{rec}, nil
	}
	flats, err := flattenLiteLLMCall(p)
	if err != nil {
		return nil, err
	}
	recs := make([]*record.Record, 0, len(flats))
	for _, f := range flats {
		rec, err := record.Normalize(f, record.Hints{Kind: record.KindDecision})
		if err != nil {
			return nil, err
		}
		recs = append(recs, rec)
	}
	return recs, nil
}

// flattenLiteLLMCall gives one flat decision per guardrail that ran.
func flattenLiteLLMCall(p map[string]any) ([]map[string]any, error) {
	var guards []any
	switch g := p["guardrail_information"].(type) {
	case nil:
		return nil, nil
	case []any:
		guards = g
	case map[string]any: // older releases: one guardrail, not a list
		guards = []any{g}
	default:
		return nil, record.FieldErrorf("guardrail_information", record.ReasonInvalidType, "must be a list of objects, got %s", record.TypeName(g))
	}
	if len(guards) > MaxGuardrailsPerCall {
		// Each becomes a record: a body of tiny entries must not become
		// more records than memory holds.
		return nil, record.FieldErrorf("guardrail_information", record.ReasonInvalidValue, "%d guardrails on one call, more than %d", len(guards), MaxGuardrailsPerCall)
	}
	meta, _ := p["metadata"].(map[string]any)
	callFailed := p["status"] == liteLLMCallFailure
	out := make([]map[string]any, 0, len(guards))
	for i, v := range guards {
		g, ok := v.(map[string]any)
		if !ok {
			return nil, record.FieldErrorf("guardrail_information["+strconv.Itoa(i)+"]", record.ReasonInvalidType, "must be an object, got %s", record.TypeName(v))
		}
		status, _ := g["guardrail_status"].(string)
		if status == liteLLMNotRun {
			continue
		}
		verdict, ok := liteLLMVerdict(status, g, p, callFailed)
		if !ok {
			return nil, record.FieldErrorf("guardrail_information["+strconv.Itoa(i)+"].guardrail_status", record.ReasonUnknownVerdict,
				"unknown guardrail status %q (accepted: success, guardrail_flagged, guardrail_intervened, guardrail_failed_to_respond, not_run)", status)
		}
		out = append(out, liteLLMDecision(p, g, meta, verdict, status))
	}
	return out, nil
}

// liteLLMVerdict: success allows; a flag (a finding the guardrail did not
// act on) escalates; an intervention that masked entities redacts, one
// that failed the call with a 4xx denies, any other modifies; a guardrail
// that failed to respond let the call through when the call succeeded
// (fail-open) and blocked it when it failed (fail-closed).
func liteLLMVerdict(status string, g, p map[string]any, callFailed bool) (string, bool) {
	switch status {
	case liteLLMSuccess:
		return record.DecisionAllow, true
	case liteLLMFlagged:
		return record.DecisionEscalate, true
	case liteLLMIntervened:
		switch {
		case dialect.MaskedEntities(g["masked_entity_count"]) > 0:
			return record.DecisionRedact, true
		case callFailed && clientError(p["error_information"]):
			return record.DecisionDeny, true
		default:
			return record.DecisionModify, true
		}
	case liteLLMFailed:
		if callFailed {
			return record.DecisionDeny, true
		}
		return record.DecisionAllow, true
	}
	return "", false
}

// liteLLMDecision is the flat record of one guardrail evaluation.
func liteLLMDecision(p, g, meta map[string]any, verdict, status string) map[string]any {
	f := map[string]any{
		"decision":     verdict,
		"decision_raw": status,
		"gateway":      liteLLMGateway,
		"rollout_mode": record.RolloutEnforced,
	}
	if status == liteLLMFlagged {
		// Flagged for review, not stopped: the call went on.
		f["effective_decision"] = record.DecisionAllow
	}
	dialect.SetFirst(f, "created_at", g["start_time"], p["startTime"])
	dialect.SetFirst(f, "policy_id", dialect.NonEmpty(g["guardrail_id"]), g["guardrail_name"])
	dialect.SetFirst(f, "policy_user", dialect.NonEmpty(meta["user_api_key_alias"]), dialect.NonEmpty(p["end_user"]))
	dialect.SetFirst(f, "api_key_id", dialect.NonEmpty(meta["user_api_key_hash"]))
	dialect.SetFirst(f, "project_id", dialect.NonEmpty(meta["user_api_key_project_id"]), dialect.NonEmpty(meta["user_api_key_team_id"]))
	dialect.SetFirst(f, "model", dialect.NonEmpty(p["model"]))
	dialect.SetFirst(f, "provider", dialect.NonEmpty(p["custom_llm_provider"]))
	dialect.SetFirst(f, "triggered_categories", dialect.Categories(g["violation_categories"]))
	if stage := liteLLMStage(g["guardrail_mode"]); stage != "" {
		f["stage"] = stage
	}
	// The call's trace context when the client sent one (LiteLLM's own
	// trace_id is not W3C), else LiteLLM's call ID correlates.
	if headers, ok := meta["requester_custom_headers"].(map[string]any); ok {
		if tp, ok := headers["traceparent"].(string); ok {
			if _, valid := record.ParseTraceparent(tp); valid {
				f["traceparent"] = tp
			}
		}
	}
	if _, ok := f["traceparent"]; !ok {
		dialect.SetFirst(f, "correlation_id", dialect.NonEmpty(p["litellm_call_id"]), dialect.NonEmpty(p["id"]))
	}
	// Kept under extra: what identifies the guardrail and the call.
	for _, k := range []string{"guardrail_name", "guardrail_provider", "guardrail_mode", "guardrail_action", "policy_template",
		"masked_entity_count", "end_time", "detection_method", "confidence_score", "risk_score",
		// What LiteLLM marks as quoting the prompt: removed unless body_logging is on.
		"guardrail_request", "guardrail_response", "match_details"} {
		if v, ok := g[k]; ok && v != nil {
			f[k] = v
		}
	}
	if v, ok := g["classification"]; ok && v != nil {
		f["guardrail_classification"] = v // not the record's own classification
	}
	if v := dialect.NonEmpty(meta["user_api_key_team_id"]); v != nil && f["project_id"] != v {
		f["team_id"] = v
	}
	for k, name := range map[string]string{"litellm_call_id": "litellm_call_id", "model_group": "model_group", "trace_id": "litellm_trace_id", "status": "call_status"} {
		if v, ok := p[k]; ok && v != nil {
			f[name] = v
		}
	}
	if v := dialect.NonEmpty(meta["user_api_key_org_id"]); v != nil {
		f["org_id"] = v
	}
	return f
}

// flattenLiteLLMAudit is an admin event for a StandardAuditLogPayload:
// <table>.<action> on the table's object, by changed_by. A change of a
// guardrail names it as the policy, so decisions under it join to it.
func flattenLiteLLMAudit(p map[string]any) map[string]any {
	table := strings.ToLower(dialect.StringOf(p["table_name"]))
	f := map[string]any{
		"action":   table + "." + strings.ToLower(dialect.StringOf(p["action"])),
		"actor":    p["changed_by"],
		"resource": map[string]any{"type": table, "id": p["object_id"]},
		"outcome":  "success",
		"gateway":  liteLLMGateway,
	}
	dialect.SetFirst(f, "event_id", dialect.NonEmpty(p["id"]))
	dialect.SetFirst(f, "created_at", p["updated_at"])
	if table == liteLLMGuardrails {
		dialect.SetFirst(f, "policy_id", dialect.NonEmpty(p["object_id"]))
	}
	details := map[string]any{}
	for _, k := range []string{"before_value", "updated_values"} {
		if v, ok := p[k]; ok && v != nil {
			details[k] = v
		}
	}
	if len(details) > 0 {
		f["details"] = details
	}
	if v := dialect.NonEmpty(p["changed_by_api_key"]); v != nil {
		f["changed_by_api_key"] = v
	}
	return f
}

// liteLLMStage: hooks before the call (and beside it) judge the request,
// after it the response; logging_only and mixed lists name no one stage.
func liteLLMStage(mode any) string {
	if m, ok := mode.(map[string]any); ok { // {tags, default}: the default hook
		mode = m["default"]
	}
	modes := []any{mode}
	if l, ok := mode.([]any); ok {
		modes = l
	}
	stage := ""
	for _, m := range modes {
		s := ""
		switch m {
		case "pre_call", "during_call":
			s = "request"
		case "post_call":
			s = "response"
		default:
			return ""
		}
		if stage != "" && stage != s {
			return ""
		}
		stage = s
	}
	return stage
}

// clientError reports whether a call's error_information carries a 4xx code.
func clientError(v any) bool {
	info, ok := v.(map[string]any)
	if !ok {
		return false
	}
	code := dialect.StringOf(info["error_code"])
	return len(code) == 3 && code[0] == '4'
}
