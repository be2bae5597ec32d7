package record

import (
	"encoding/json"
	"sort"
	"strconv"
	"strings"
)

// LiteLLM's logging payloads (docs/records.md, "LiteLLM"): a
// StandardLoggingPayload per LLM call, from its generic_api callback, holds
// the verdicts of the guardrails that ran in guardrail_information; a
// StandardAuditLogPayload is one change an administrator made. Each is
// flattened into the flat dialect and normalised like any record, so the
// same validation, limits and extra handling apply.

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

// NormalizeLiteLLM turns one LiteLLM payload into canonical records: one
// decision per guardrail evaluation of a call (none when no guardrail ran),
// or one admin event for an audit payload.
func NormalizeLiteLLM(p map[string]any) ([]*Record, error) {
	if isLiteLLMAudit(p) {
		rec, err := Normalize(flattenLiteLLMAudit(p), Hints{Kind: KindAdmin})
		if err != nil {
			return nil, err
		}
		return []*Record{rec}, nil
	}
	flats, err := flattenLiteLLMCall(p)
	if err != nil {
		return nil, err
	}
	recs := make([]*Record, 0, len(flats))
	for _, f := range flats {
		rec, err := Normalize(f, Hints{Kind: KindDecision})
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
		return nil, fieldErr("guardrail_information", ReasonInvalidType, "must be a list of objects, got %s", typeName(g))
	}
	if len(guards) > MaxGuardrailsPerCall {
		// Each becomes a record: a body of tiny entries must not become
		// more records than memory holds.
		return nil, fieldErr("guardrail_information", ReasonInvalidValue, "%d guardrails on one call, more than %d", len(guards), MaxGuardrailsPerCall)
	}
	meta, _ := p["metadata"].(map[string]any)
	callFailed := p["status"] == liteLLMCallFailure
	out := make([]map[string]any, 0, len(guards))
	for i, v := range guards {
		g, ok := v.(map[string]any)
		if !ok {
			return nil, fieldErr("guardrail_information["+strconv.Itoa(i)+"]", ReasonInvalidType, "must be an object, got %s", typeName(v))
		}
		status, _ := g["guardrail_status"].(string)
		if status == liteLLMNotRun {
			continue
		}
		verdict, ok := liteLLMVerdict(status, g, p, callFailed)
		if !ok {
			return nil, fieldErr("guardrail_information["+strconv.Itoa(i)+"].guardrail_status", ReasonUnknownVerdict,
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
		return DecisionAllow, true
	case liteLLMFlagged:
		return DecisionEscalate, true
	case liteLLMIntervened:
		switch {
		case maskedEntities(g["masked_entity_count"]) > 0:
			return DecisionRedact, true
		case callFailed && clientError(p["error_information"]):
			return DecisionDeny, true
		default:
			return DecisionModify, true
		}
	case liteLLMFailed:
		if callFailed {
			return DecisionDeny, true
		}
		return DecisionAllow, true
	}
	return "", false
}

// liteLLMDecision is the flat record of one guardrail evaluation.
func liteLLMDecision(p, g, meta map[string]any, verdict, status string) map[string]any {
	f := map[string]any{
		"decision":     verdict,
		"decision_raw": status,
		"gateway":      liteLLMGateway,
		"rollout_mode": RolloutEnforced,
	}
	if status == liteLLMFlagged {
		// Flagged for review, not stopped: the call went on.
		f["effective_decision"] = DecisionAllow
	}
	setFirst(f, "created_at", g["start_time"], p["startTime"])
	setFirst(f, "policy_id", nonEmpty(g["guardrail_id"]), g["guardrail_name"])
	setFirst(f, "policy_user", nonEmpty(meta["user_api_key_alias"]), nonEmpty(p["end_user"]))
	setFirst(f, "api_key_id", nonEmpty(meta["user_api_key_hash"]))
	setFirst(f, "project_id", nonEmpty(meta["user_api_key_project_id"]), nonEmpty(meta["user_api_key_team_id"]))
	setFirst(f, "model", nonEmpty(p["model"]))
	setFirst(f, "provider", nonEmpty(p["custom_llm_provider"]))
	setFirst(f, "triggered_categories", categories(g["violation_categories"]))
	if stage := liteLLMStage(g["guardrail_mode"]); stage != "" {
		f["stage"] = stage
	}
	// The call's trace context when the client sent one (LiteLLM's own
	// trace_id is not W3C), else LiteLLM's call ID correlates.
	if headers, ok := meta["requester_custom_headers"].(map[string]any); ok {
		if tp, ok := headers["traceparent"].(string); ok {
			if _, valid := parseTraceparent(tp); valid {
				f["traceparent"] = tp
			}
		}
	}
	if _, ok := f["traceparent"]; !ok {
		setFirst(f, "correlation_id", nonEmpty(p["litellm_call_id"]), nonEmpty(p["id"]))
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
	if v := nonEmpty(meta["user_api_key_team_id"]); v != nil && f["project_id"] != v {
		f["team_id"] = v
	}
	for k, name := range map[string]string{"litellm_call_id": "litellm_call_id", "model_group": "model_group", "trace_id": "litellm_trace_id", "status": "call_status"} {
		if v, ok := p[k]; ok && v != nil {
			f[name] = v
		}
	}
	if v := nonEmpty(meta["user_api_key_org_id"]); v != nil {
		f["org_id"] = v
	}
	return f
}

// flattenLiteLLMAudit is an admin event for a StandardAuditLogPayload:
// <table>.<action> on the table's object, by changed_by. A change of a
// guardrail names it as the policy, so decisions under it join to it.
func flattenLiteLLMAudit(p map[string]any) map[string]any {
	table := strings.ToLower(stringOf(p["table_name"]))
	f := map[string]any{
		"action":   table + "." + strings.ToLower(stringOf(p["action"])),
		"actor":    p["changed_by"],
		"resource": map[string]any{"type": table, "id": p["object_id"]},
		"outcome":  "success",
		"gateway":  liteLLMGateway,
	}
	setFirst(f, "event_id", nonEmpty(p["id"]))
	setFirst(f, "created_at", p["updated_at"])
	if table == liteLLMGuardrails {
		setFirst(f, "policy_id", nonEmpty(p["object_id"]))
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
	if v := nonEmpty(p["changed_by_api_key"]); v != nil {
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

// maskedEntities adds up masked_entity_count: a number, or counts by entity type.
func maskedEntities(v any) float64 {
	switch x := v.(type) {
	case json.Number:
		f, _ := x.Float64()
		return f
	case float64:
		return x
	case map[string]any:
		total := 0.0
		for _, c := range x {
			total += maskedEntities(c)
		}
		return total
	}
	return 0
}

// clientError reports whether a call's error_information carries a 4xx code.
func clientError(v any) bool {
	info, ok := v.(map[string]any)
	if !ok {
		return false
	}
	code := stringOf(info["error_code"])
	return len(code) == 3 && code[0] == '4'
}

// categories are violation_categories as a list of names (a map's keys
// when given as scores by category).
func categories(v any) any {
	if m, ok := v.(map[string]any); ok {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		return sortedNames(keys)
	}
	return v
}

// sortedNames is a list of names, sorted, as an input list value.
func sortedNames(names []string) []any {
	sort.Strings(names)
	list := make([]any, len(names))
	for i, s := range names {
		list[i] = s
	}
	return list
}

func setFirst(f map[string]any, key string, values ...any) {
	for _, v := range values {
		if v != nil {
			f[key] = v
			return
		}
	}
}

func nonEmpty(v any) any {
	if s, ok := v.(string); ok && s == "" {
		return nil
	}
	return v
}

func stringOf(v any) string {
	s, _ := scalarString(v)
	return s
}
