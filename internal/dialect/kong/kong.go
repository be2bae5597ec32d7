// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

// Package kong is the dialect of Kong Gateway's log serializer
// (docs/records.md, "Kong"): one JSON object per proxied request, from the
// http-log plugin (one object, or an array when it batches) or file-log (one
// a line). The AI Gateway's guardrail plugins each add an object under
// ai.proxy.<plugin>; the PII sanitizer adds ai.sanitizer. Each becomes one
// flat decision, normalised like any record.
package kong // import "github.com/policyaudit/policyaudit/internal/dialect/kong"

import (
	"strings"

	"github.com/policyaudit/policyaudit/internal/dialect"
	"github.com/policyaudit/policyaudit/internal/jsonbody"
	"github.com/policyaudit/policyaudit/internal/record"
)

// Dialect is Kong's log serializer objects.
var Dialect = dialect.Dialect{
	Name:   "kong",
	Path:   "/v1/kong",
	Doc:    "Kong Gateway's http-log or file-log objects (AI Gateway guardrails and sanitizer)",
	Detect: Detect,
	Normalize: func(dst []*record.Record, obj jsonbody.Value, _ record.Hints) ([]*record.Record, error) {
		return NormalizeEntry(dst, obj)
	},
	// The content Kong's guardrail plugins log when they block
	// (log_blocked_content).
	BodyFields: []string{"input_faulty_prompt", "output_faulty_response"},
	Fixtures:   []string{"kong-http-log.json"},
}

// Detect recognises Kong's log serializer: started_at and a request
// object, with Kong's latencies or an ai object.
func Detect(obj jsonbody.Value) bool {
	var started, request, kongObject bool
	for i := range obj.Items {
		m := &obj.Items[i]
		isObject := m.Value.Kind == jsonbody.Object
		switch m.Key {
		case "started_at":
			started = true
		case "request":
			request = isObject
		case "ai", "latencies":
			kongObject = kongObject || isObject
		}
	}
	return started && request && kongObject
}

// Guards are the guardrail plugins whose objects Kong 3.14 logs under
// ai.proxy, in the order their records are written.
var Guards = []string{"aws-guardrails", "azure-content-safety", "custom-guardrail", "gcp-model-armor", "lakera-guard"}

// Gateway is the gateway name Kong's records carry; Sanitizer the policy
// of the PII sanitizer's.
const (
	Gateway   = "kong"
	Sanitizer = "ai-sanitizer"
)

// NormalizeEntry appends to dst the canonical records of one Kong log
// object: one decision per guardrail plugin that logged (none for a
// request no guardrail judged). On an error it returns dst as it was.
func NormalizeEntry(dst []*record.Record, obj jsonbody.Value) ([]*record.Record, error) {
	ai := dialect.ObjectAt(&obj, "ai")
	if ai == nil {
		return dst, nil
	}
	proxy := dialect.ObjectAt(ai, "proxy")
	meta := kongSection(ai, proxy, "proxy", "meta")
	n := len(dst)
	usage := kongUsage(&obj, kongSection(ai, proxy, "proxy", "usage"))
	for _, name := range Guards {
		guard := kongSection(ai, proxy, name, "")
		if guard == nil {
			continue
		}
		rec, err := record.NormalizeValue(withUsage(kongDecision(&obj, meta, name, guard, ai), &usage, len(dst) == n), record.Hints{Kind: record.KindDecision})
		if err != nil {
			return dst[:n], err
		}
		dst = append(dst, rec)
	}
	if s := dialect.ObjectAt(ai, "sanitizer"); s != nil {
		rec, err := record.NormalizeValue(withUsage(kongSanitized(&obj, meta, s), &usage, len(dst) == n), record.Hints{Kind: record.KindDecision})
		if err != nil {
			return dst[:n], err
		}
		dst = append(dst, rec)
	}
	return dst, nil
}

// kongUsage is a request's usage: ai-proxy's token counts and cost (in
// the unit of the plugin's configured costs: no currency is assumed), the
// request's latency as Kong measured it, the status Kong answered and the
// request's path.
func kongUsage(obj, usage *jsonbody.Value) dialect.Object {
	var f dialect.Object
	for _, k := range []string{"prompt_tokens", "completion_tokens", "total_tokens", "cost"} {
		if v := dialect.Get(usage, k); v != nil && v.Kind == jsonbody.Number {
			f.Set(k, *v)
		}
	}
	if v := dialect.Get(dialect.ObjectAt(obj, "latencies"), "request"); v != nil && v.Kind == jsonbody.Number {
		f.Set("latency_ms", *v)
	}
	if v := dialect.Get(dialect.ObjectAt(obj, "response"), "status"); v != nil && v.Kind == jsonbody.Number {
		f.Set("status_code", *v)
	}
	f.SetFirst("request_path", dialect.NonEmptyAt(dialect.ObjectAt(obj, "request"), "uri"))
	return f
}

// withUsage adds the request's usage to its first record only: Kong logs
// one request, policyaudit writes a record per guardrail, and the tokens
// and the cost are counted once.
func withUsage(rec jsonbody.Value, usage *dialect.Object, first bool) jsonbody.Value {
	if !first {
		return rec
	}
	for _, m := range usage.Value().Items {
		rec.Items = append(rec.Items, m)
	}
	return rec
}

// guardDetail are the keys of a guardrail plugin's object kept under
// extra.kong_guard.
var guardDetail = [...]string{"mode", "input_block_reason", "output_block_reason", "input_masked", "output_masked",
	"input_block_source", "output_block_source", "guards_triggered_count", "aws_region", "guardrails_version",
	"input_processing_latency", "output_processing_latency", "input_block_detail", "output_block_detail"}

// kongDecision is one guardrail plugin's verdict on a request: masked
// content redacts, a block reason on either side denies, neither allows.
func kongDecision(obj, meta *jsonbody.Value, name string, g, ai *jsonbody.Value) jsonbody.Value {
	inReason, outReason := dialect.Text(dialect.Get(g, "input_block_reason")), dialect.Text(dialect.Get(g, "output_block_reason"))
	inMasked, outMasked := dialect.IsTrue(dialect.Get(g, "input_masked")), dialect.IsTrue(dialect.Get(g, "output_masked"))
	f := kongCommon(obj, meta)
	switch {
	case inMasked || outMasked:
		f.SetString("decision", record.DecisionRedact)
		f.SetString("decision_raw", "masked")
	case inReason != "" || outReason != "":
		f.SetString("decision", record.DecisionDeny)
		f.SetString("decision_raw", "blocked")
	default:
		f.SetString("decision", record.DecisionAllow)
		f.SetString("decision_raw", "allowed")
	}
	switch {
	case inMasked || inReason != "":
		f.SetString("stage", "request")
	case outMasked || outReason != "":
		f.SetString("stage", "response")
	default:
		if stage := kongModeStage(dialect.Get(g, "mode")); stage != "" {
			f.SetString("stage", stage)
		}
	}
	f.SetString("policy_id", name)
	switch name {
	case "aws-guardrails":
		f.SetFirst("policy_id", dialect.NonEmptyAt(g, "guardrails_id"))
		f.SetFirst("policy_version", dialect.NonEmptyAt(g, "guardrails_version"))
	case "gcp-model-armor":
		f.SetFirst("policy_id", dialect.NonEmptyAt(g, "template_id"))
		f.Set("triggered_categories", dialect.SplitNames(inReason, outReason))
	case "lakera-guard":
		f.SetFirst("policy_id", dialect.NonEmptyAt(g, "lakera_project_id"))
		f.Set("triggered_categories", lakeraDetectors(dialect.Get(g, "input_block_detail"), dialect.Get(g, "output_block_detail")))
	case "azure-content-safety":
		if audit := dialect.ObjectAt(ai, "audit"); audit != nil {
			f.Set("triggered_categories", dialect.OrNull(dialect.CategoryList(dialect.Get(audit, "azure_content_safety"))))
		}
	}
	var detail dialect.Object
	detail.SetString("plugin", name)
	for _, k := range guardDetail {
		if v := dialect.NonEmptyAt(g, k); v != nil {
			detail.Set(k, *v)
		}
	}
	f.Set("kong_guard", detail.Value())
	// The blocked text itself (config.log_blocked_content): removed unless body_logging is on.
	for _, k := range []string{"input_faulty_prompt", "output_faulty_response"} {
		if v := dialect.NonEmptyAt(g, k); v != nil {
			f.Set(k, *v)
		}
	}
	return f.Value()
}

// kongSanitized is the PII sanitizer's verdict: it redacts what it
// sanitised, by entity type; the originals it logs are never read.
func kongSanitized(obj, meta, s *jsonbody.Value) jsonbody.Value {
	f := kongCommon(obj, meta)
	f.SetString("policy_id", Sanitizer)
	f.SetString("stage", "request")
	if dialect.MaskedCount(dialect.Get(s, "pii_sanitized")) > 0 {
		f.SetString("decision", record.DecisionRedact)
		f.SetString("decision_raw", "sanitized")
	} else {
		f.SetString("decision", record.DecisionAllow)
		f.SetString("decision_raw", "nothing sanitized")
	}
	var types []string
	if items := dialect.Get(s, "sanitized_items"); items != nil && items.Kind == jsonbody.Array {
		for i := range items.Items {
			if it := &items.Items[i].Value; it.Kind == jsonbody.Object {
				types = append(types, dialect.Text(dialect.Get(it, "entity_type")))
			}
		}
	}
	f.Set("triggered_categories", dialect.SplitNames(strings.Join(types, ",")))
	var detail dialect.Object
	detail.SetString("plugin", Sanitizer)
	for _, k := range []string{"pii_identified", "pii_sanitized", "duration"} {
		if v, ok := dialect.Member(s, k); ok {
			detail.Set(k, *v)
		}
	}
	f.Set("kong_guard", detail.Value())
	return f.Value()
}

// requestExtra are the keys of a request kept under extra, and their names
// there.
var requestExtra = [...]struct{ key, name string }{{"workspace", "workspace"}, {"workspace_name", "workspace_name"}, {"source", "kong_source"}}

// kongCommon is what every record of a request shares: time, caller,
// model, correlation and where Kong routed it.
func kongCommon(obj, meta *jsonbody.Value) dialect.Object {
	req, consumer := dialect.ObjectAt(obj, "request"), dialect.ObjectAt(obj, "consumer")
	var f dialect.Object
	f.SetString("gateway", Gateway)
	f.SetString("rollout_mode", record.RolloutEnforced)
	f.SetFirst("created_at", dialect.Get(obj, "started_at"))
	f.SetFirst("policy_user", dialect.NonEmptyAt(consumer, "username"), dialect.NonEmptyAt(consumer, "id"))
	f.SetFirst("model", dialect.NonEmptyAt(meta, "request_model"))
	f.SetFirst("provider", dialect.NonEmptyAt(meta, "provider_name"))
	// The request's W3C trace when Kong traces, else the correlation-id
	// plugin's ID, else Kong's request ID.
	if w3c := dialect.Get(dialect.ObjectAt(obj, "trace_id"), "w3c"); record.IsHexID(dialect.Text(w3c), 32) {
		f.Set("trace_id", *w3c)
	} else {
		f.SetFirst("correlation_id", dialect.NonEmptyAt(obj, "correlation_id"), dialect.NonEmptyAt(req, "id"))
	}
	f.SetFirst("kong_request_id", dialect.NonEmptyAt(req, "id"))
	for _, k := range requestExtra {
		f.SetFirst(k.name, dialect.NonEmptyAt(obj, k.key))
	}
	f.SetFirst("route_id", dialect.NonEmptyAt(dialect.ObjectAt(obj, "route"), "id"))
	f.SetFirst("service_id", dialect.NonEmptyAt(dialect.ObjectAt(obj, "service"), "id"))
	f.SetFirst("response_status", dialect.Get(dialect.ObjectAt(obj, "response"), "status"))
	f.SetFirst("ai_plugin_id", dialect.NonEmptyAt(meta, "plugin_id"))
	return f
}

// kongSection finds a plugin's object in either layout of Kong's ai log:
// under ai.proxy (the layout Kong 3.14 documents), or keyed by the plugin's
// own name at the ai level, as earlier releases logged ai-proxy's usage and
// meta (ai["ai-proxy"].meta; a guard's object, ai["ai-aws-guardrails"], is
// read the same way by analogy); sub, when set, is a key inside it (meta).
// It is nil when neither layout has it.
func kongSection(ai, proxy *jsonbody.Value, plugin, sub string) *jsonbody.Value {
	if sub != "" {
		if m := dialect.ObjectAt(proxy, sub); m != nil {
			return m
		}
		for _, key := range []string{"ai-" + plugin, "ai-" + plugin + "-advanced"} {
			if m := dialect.ObjectAt(dialect.ObjectAt(ai, key), sub); m != nil {
				return m
			}
		}
		return nil
	}
	if m := dialect.ObjectAt(proxy, plugin); m != nil {
		return m
	}
	return dialect.ObjectAt(ai, "ai-"+plugin)
}

// kongModeStage: a plugin guarding only input judges the request, only
// output the response; BOTH (or no mode) names no one stage.
func kongModeStage(mode *jsonbody.Value) string {
	switch strings.ToUpper(dialect.Text(mode)) {
	case "INPUT":
		return "request"
	case "OUTPUT":
		return "response"
	}
	return ""
}

// lakeraDetectors are the detector types Lakera reported as detected.
func lakeraDetectors(details ...*jsonbody.Value) jsonbody.Value {
	var names []string
	for _, d := range details {
		if d == nil || d.Kind != jsonbody.Array {
			continue
		}
		for i := range d.Items {
			if it := &d.Items[i].Value; it.Kind == jsonbody.Object && dialect.IsTrue(dialect.Get(it, "detected")) {
				if t := dialect.Text(dialect.Get(it, "detector_type")); t != "" {
					names = append(names, t)
				}
			}
		}
	}
	return dialect.SplitNames(strings.Join(names, ","))
}
