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
	"math"
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
		return NormalizePayload(dst, obj)
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
func isLiteLLMAudit(p *jsonbody.Value) bool {
	_, table := p.Lookup("table_name")
	_, by := p.Lookup("changed_by")
	return table && by
}

// NormalizePayload appends to dst the canonical records of one LiteLLM
// payload: one decision per guardrail evaluation of a call (none when no
// guardrail ran), or one admin event for an audit payload. On an error
// it returns dst as it was.
func NormalizePayload(dst []*record.Record, p jsonbody.Value) ([]*record.Record, error) {
	if isLiteLLMAudit(&p) {
		rec, err := record.NormalizeValue(flattenLiteLLMAudit(&p), record.Hints{Kind: record.KindAdmin})
		if err != nil {
			return dst, err
		}
		return append(dst, rec), nil
	}
	flats, err := flattenLiteLLMCall(&p)
	if err != nil {
		return dst, err
	}
	n := len(dst)
	for _, f := range flats {
		rec, err := record.NormalizeValue(f, record.Hints{Kind: record.KindDecision})
		if err != nil {
			return dst[:n], err
		}
		dst = append(dst, rec)
	}
	return dst, nil
}

// flattenLiteLLMCall gives one flat decision per guardrail that ran.
func flattenLiteLLMCall(p *jsonbody.Value) ([]jsonbody.Value, error) {
	var guards []jsonbody.Member
	switch g := dialect.Get(p, "guardrail_information"); {
	case g == nil:
		return nil, nil
	case g.Kind == jsonbody.Array:
		guards = g.Items
	case g.Kind == jsonbody.Object: // older releases: one guardrail, not a list
		guards = []jsonbody.Member{{Value: *g}}
	default:
		return nil, record.FieldErrorf("guardrail_information", record.ReasonInvalidType, "must be a list of objects, got %s", record.ValueTypeName(g))
	}
	if len(guards) > MaxGuardrailsPerCall {
		// Each becomes a record: a body of tiny entries must not become
		// more records than memory holds.
		return nil, record.FieldErrorf("guardrail_information", record.ReasonInvalidValue, "%d guardrails on one call, more than %d", len(guards), MaxGuardrailsPerCall)
	}
	meta := dialect.ObjectAt(p, "metadata")
	callFailed := dialect.IsString(dialect.Get(p, "status"), liteLLMCallFailure)
	out := make([]jsonbody.Value, 0, len(guards))
	for i := range guards {
		g := &guards[i].Value
		if g.Kind != jsonbody.Object {
			return nil, record.FieldErrorf("guardrail_information["+strconv.Itoa(i)+"]", record.ReasonInvalidType, "must be an object, got %s", record.ValueTypeName(g))
		}
		status := ""
		if s := dialect.Get(g, "guardrail_status"); s != nil && s.Kind == jsonbody.String {
			status = s.Str
		}
		if status == liteLLMNotRun {
			continue
		}
		verdict, ok := liteLLMVerdict(status, g, p, callFailed)
		if !ok {
			return nil, record.FieldErrorf("guardrail_information["+strconv.Itoa(i)+"].guardrail_status", record.ReasonUnknownVerdict,
				"unknown guardrail status %q (accepted: success, guardrail_flagged, guardrail_intervened, guardrail_failed_to_respond, not_run)", status)
		}
		out = append(out, liteLLMDecision(p, g, meta, verdict, status, len(out) == 0))
	}
	return out, nil
}

// liteLLMUsage puts the call's usage on its first record (LiteLLM logs one
// call, policyaudit writes a record per guardrail: the tokens and the cost
// are counted once): OpenAI's token counts, LiteLLM's response_cost (in US
// dollars) and the call's time from startTime to endTime (seconds).
func liteLLMUsage(f *dialect.Object, p *jsonbody.Value) {
	for _, k := range []string{"prompt_tokens", "completion_tokens", "total_tokens"} {
		if v := dialect.Get(p, k); v != nil && v.Kind == jsonbody.Number {
			f.Set(k, *v)
		}
	}
	if v := dialect.Get(p, "response_cost"); v != nil && v.Kind == jsonbody.Number {
		f.Set("response_cost", *v)
		f.SetString("currency", "USD")
	}
	start, okStart := dialect.NumberOf(dialect.Get(p, "startTime"))
	end, okEnd := dialect.NumberOf(dialect.Get(p, "endTime"))
	if okStart && okEnd && end >= start {
		f.Set("latency_ms", dialect.Number(math.Round((end-start)*1000)))
	}
}

// liteLLMVerdict: success allows; a flag (a finding the guardrail did not
// act on) escalates; an intervention that masked entities redacts, one
// that failed the call with a 4xx denies, any other modifies; a guardrail
// that failed to respond let the call through when the call succeeded
// (fail-open) and blocked it when it failed (fail-closed).
func liteLLMVerdict(status string, g, p *jsonbody.Value, callFailed bool) (string, bool) {
	switch status {
	case liteLLMSuccess:
		return record.DecisionAllow, true
	case liteLLMFlagged:
		return record.DecisionEscalate, true
	case liteLLMIntervened:
		switch {
		case dialect.MaskedCount(dialect.Get(g, "masked_entity_count")) > 0:
			return record.DecisionRedact, true
		case callFailed && clientError(dialect.Get(p, "error_information")):
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

// guardExtra are the keys of a guardrail's object kept under extra: what
// identifies the guardrail and the call.
var guardExtra = [...]string{"guardrail_name", "guardrail_provider", "guardrail_mode", "guardrail_action", "policy_template",
	"masked_entity_count", "end_time", "detection_method", "confidence_score", "risk_score",
	// What LiteLLM marks as quoting the prompt: removed unless body_logging is on.
	"guardrail_request", "guardrail_response", "match_details"}

// callExtra are the keys of the call kept under extra, and their names there.
var callExtra = [...]struct{ key, name string }{
	{"litellm_call_id", "litellm_call_id"}, {"model_group", "model_group"}, {"trace_id", "litellm_trace_id"}, {"status", "call_status"},
}

// liteLLMDecision is the flat record of one guardrail evaluation.
func liteLLMDecision(p, g, meta *jsonbody.Value, verdict, status string, withUsage bool) jsonbody.Value {
	var f dialect.Object
	if withUsage {
		liteLLMUsage(&f, p)
	}
	f.SetString("decision", verdict)
	f.SetString("decision_raw", status)
	f.SetString("gateway", liteLLMGateway)
	f.SetString("rollout_mode", record.RolloutEnforced)
	if status == liteLLMFlagged {
		// Flagged for review, not stopped: the call went on.
		f.SetString("effective_decision", record.DecisionAllow)
	}
	f.SetFirst("created_at", dialect.Get(g, "start_time"), dialect.Get(p, "startTime"))
	f.SetFirst("policy_id", dialect.NonEmptyAt(g, "guardrail_id"), dialect.Get(g, "guardrail_name"))
	f.SetFirst("policy_user", dialect.NonEmptyAt(meta, "user_api_key_alias"), dialect.NonEmptyAt(p, "end_user"))
	f.SetFirst("api_key_id", dialect.NonEmptyAt(meta, "user_api_key_hash"))
	f.SetFirst("project_id", dialect.NonEmptyAt(meta, "user_api_key_project_id"), dialect.NonEmptyAt(meta, "user_api_key_team_id"))
	f.SetFirst("model", dialect.NonEmptyAt(p, "model"))
	f.SetFirst("provider", dialect.NonEmptyAt(p, "custom_llm_provider"))
	f.SetFirst("triggered_categories", dialect.CategoryList(dialect.Get(g, "violation_categories")))
	if stage := liteLLMStage(dialect.Get(g, "guardrail_mode")); stage != "" {
		f.SetString("stage", stage)
	}
	// The call's trace context when the client sent one (LiteLLM's own
	// trace_id is not W3C), else LiteLLM's call ID correlates.
	if tp := dialect.Get(dialect.ObjectAt(meta, "requester_custom_headers"), "traceparent"); tp != nil && tp.Kind == jsonbody.String {
		if _, valid := record.ParseTraceparent(tp.Str); valid {
			f.Set("traceparent", *tp)
		}
	}
	if !f.Has("traceparent") {
		f.SetFirst("correlation_id", dialect.NonEmptyAt(p, "litellm_call_id"), dialect.NonEmptyAt(p, "id"))
	}
	for _, k := range guardExtra {
		if v := dialect.Get(g, k); v != nil {
			f.Set(k, *v)
		}
	}
	if v := dialect.Get(g, "classification"); v != nil {
		f.Set("guardrail_classification", *v) // not the record's own classification
	}
	if v := dialect.NonEmptyAt(meta, "user_api_key_team_id"); v != nil {
		if project, _ := f.Get("project_id"); !dialect.Same(project, v) {
			f.Set("team_id", *v)
		}
	}
	for _, k := range callExtra {
		if v := dialect.Get(p, k.key); v != nil {
			f.Set(k.name, *v)
		}
	}
	if v := dialect.NonEmptyAt(meta, "user_api_key_org_id"); v != nil {
		f.Set("org_id", *v)
	}
	return f.Value()
}

// flattenLiteLLMAudit is an admin event for a StandardAuditLogPayload:
// <table>.<action> on the table's object, by changed_by. A change of a
// guardrail names it as the policy, so decisions under it join to it.
func flattenLiteLLMAudit(p *jsonbody.Value) jsonbody.Value {
	table := strings.ToLower(dialect.Text(dialect.Get(p, "table_name")))
	var f, resource, details dialect.Object
	f.SetString("action", table+"."+strings.ToLower(dialect.Text(dialect.Get(p, "action"))))
	f.Set("actor", dialect.OrNull(dialect.Get(p, "changed_by")))
	resource.SetString("type", table)
	resource.Set("id", dialect.OrNull(dialect.Get(p, "object_id")))
	f.Set("resource", resource.Value())
	f.SetString("outcome", "success")
	f.SetString("gateway", liteLLMGateway)
	f.SetFirst("event_id", dialect.NonEmptyAt(p, "id"))
	f.SetFirst("created_at", dialect.Get(p, "updated_at"))
	if table == liteLLMGuardrails {
		f.SetFirst("policy_id", dialect.NonEmptyAt(p, "object_id"))
	}
	for _, k := range []string{"before_value", "updated_values"} {
		if v := dialect.Get(p, k); v != nil {
			details.Set(k, *v)
		}
	}
	if details.Len() > 0 {
		f.Set("details", details.Value())
	}
	if v := dialect.NonEmptyAt(p, "changed_by_api_key"); v != nil {
		f.Set("changed_by_api_key", *v)
	}
	return f.Value()
}

// liteLLMStage: hooks before the call (and beside it) judge the request,
// after it the response; logging_only and mixed lists name no one stage.
func liteLLMStage(mode *jsonbody.Value) string {
	if mode != nil && mode.Kind == jsonbody.Object { // {tags, default}: the default hook
		mode = dialect.Get(mode, "default")
	}
	if mode == nil || mode.Kind != jsonbody.Array {
		return hookStage(mode)
	}
	stage := ""
	for i := range mode.Items {
		s := hookStage(&mode.Items[i].Value)
		if s == "" || stage != "" && stage != s {
			return ""
		}
		stage = s
	}
	return stage
}

// hookStage is the stage a hook judges, or "".
func hookStage(mode *jsonbody.Value) string {
	switch {
	case dialect.IsString(mode, "pre_call"), dialect.IsString(mode, "during_call"):
		return "request"
	case dialect.IsString(mode, "post_call"):
		return "response"
	}
	return ""
}

// clientError reports whether a call's error_information carries a 4xx code.
func clientError(info *jsonbody.Value) bool {
	if info == nil || info.Kind != jsonbody.Object {
		return false
	}
	code := dialect.Text(dialect.Get(info, "error_code"))
	return len(code) == 3 && code[0] == '4'
}
