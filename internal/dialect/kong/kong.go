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
		m, _ := obj.Interface().(map[string]any)
		recs, err := NormalizeEntry(m)
		return append(dst, recs...), err
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

// NormalizeEntry turns one Kong log object into canonical records: one
// decision per guardrail plugin that logged (none for a request no
// guardrail judged).
func NormalizeEntry(obj map[string]any) ([]*record.Record, error) {
	ai, _ := obj["ai"].(map[string]any)
	if ai == nil {
		return nil, nil
	}
	proxy, _ := ai["proxy"].(map[string]any)
	meta, _ := kongSection(ai, proxy, "proxy", "meta")
	var recs []*record.Record
	for _, name := range Guards {
		guard, ok := kongSection(ai, proxy, name, "")
		if !ok {
			continue
		}
		rec, err := record.Normalize(kongDecision(obj, meta, name, guard, ai), record.Hints{Kind: record.KindDecision})
		if err != nil {
			return nil, err
		}
		recs = append(recs, rec)
	}
	if s, ok := ai["sanitizer"].(map[string]any); ok {
		rec, err := record.Normalize(kongSanitized(obj, meta, s), record.Hints{Kind: record.KindDecision})
		if err != nil {
			return nil, err
		}
		recs = append(recs, rec)
	}
	return recs, nil
}

// kongDecision is one guardrail plugin's verdict on a request: masked
// content redacts, a block reason on either side denies, neither allows.
func kongDecision(obj, meta map[string]any, name string, g, ai map[string]any) map[string]any {
	inReason, outReason := dialect.StringOf(g["input_block_reason"]), dialect.StringOf(g["output_block_reason"])
	inMasked, outMasked := g["input_masked"] == true, g["output_masked"] == true
	f := kongCommon(obj, meta)
	switch {
	case inMasked || outMasked:
		f["decision"], f["decision_raw"] = record.DecisionRedact, "masked"
	case inReason != "" || outReason != "":
		f["decision"], f["decision_raw"] = record.DecisionDeny, "blocked"
	default:
		f["decision"], f["decision_raw"] = record.DecisionAllow, "allowed"
	}
	switch {
	case inMasked || inReason != "":
		f["stage"] = "request"
	case outMasked || outReason != "":
		f["stage"] = "response"
	default:
		if stage := kongModeStage(g["mode"]); stage != "" {
			f["stage"] = stage
		}
	}
	f["policy_id"] = name
	switch name {
	case "aws-guardrails":
		dialect.SetFirst(f, "policy_id", dialect.NonEmpty(g["guardrails_id"]), name)
		dialect.SetFirst(f, "policy_version", dialect.NonEmpty(g["guardrails_version"]))
	case "gcp-model-armor":
		dialect.SetFirst(f, "policy_id", dialect.NonEmpty(g["template_id"]), name)
		f["triggered_categories"] = dialect.SplitList(inReason, outReason)
	case "lakera-guard":
		dialect.SetFirst(f, "policy_id", dialect.NonEmpty(g["lakera_project_id"]), name)
		f["triggered_categories"] = lakeraDetectors(g["input_block_detail"], g["output_block_detail"])
	case "azure-content-safety":
		if audit, ok := ai["audit"].(map[string]any); ok {
			f["triggered_categories"] = dialect.Categories(audit["azure_content_safety"])
		}
	}
	detail := map[string]any{"plugin": name}
	for _, k := range []string{"mode", "input_block_reason", "output_block_reason", "input_masked", "output_masked",
		"input_block_source", "output_block_source", "guards_triggered_count", "aws_region", "guardrails_version",
		"input_processing_latency", "output_processing_latency", "input_block_detail", "output_block_detail"} {
		if v, ok := g[k]; ok && v != nil && v != "" {
			detail[k] = v
		}
	}
	f["kong_guard"] = detail
	// The blocked text itself (config.log_blocked_content): removed unless body_logging is on.
	for _, k := range []string{"input_faulty_prompt", "output_faulty_response"} {
		if v := dialect.NonEmpty(g[k]); v != nil {
			f[k] = v
		}
	}
	return f
}

// kongSanitized is the PII sanitizer's verdict: it redacts what it
// sanitised, by entity type; the originals it logs are never read.
func kongSanitized(obj, meta, s map[string]any) map[string]any {
	f := kongCommon(obj, meta)
	f["policy_id"], f["stage"] = Sanitizer, "request"
	f["decision"], f["decision_raw"] = record.DecisionAllow, "nothing sanitized"
	if dialect.MaskedEntities(s["pii_sanitized"]) > 0 {
		f["decision"], f["decision_raw"] = record.DecisionRedact, "sanitized"
	}
	var types []string
	if items, ok := s["sanitized_items"].([]any); ok {
		for _, it := range items {
			if m, ok := it.(map[string]any); ok {
				types = append(types, dialect.StringOf(m["entity_type"]))
			}
		}
	}
	f["triggered_categories"] = dialect.SplitList(strings.Join(types, ","))
	detail := map[string]any{"plugin": Sanitizer}
	for _, k := range []string{"pii_identified", "pii_sanitized", "duration"} {
		if v, ok := s[k]; ok {
			detail[k] = v
		}
	}
	f["kong_guard"] = detail
	return f
}

// kongCommon is what every record of a request shares: time, caller,
// model, correlation and where Kong routed it.
func kongCommon(obj, meta map[string]any) map[string]any {
	req, _ := obj["request"].(map[string]any)
	consumer, _ := obj["consumer"].(map[string]any)
	f := map[string]any{"gateway": Gateway, "rollout_mode": record.RolloutEnforced}
	dialect.SetFirst(f, "created_at", obj["started_at"])
	dialect.SetFirst(f, "policy_user", dialect.NonEmpty(consumer["username"]), dialect.NonEmpty(consumer["id"]))
	dialect.SetFirst(f, "model", dialect.NonEmpty(meta["request_model"]))
	dialect.SetFirst(f, "provider", dialect.NonEmpty(meta["provider_name"]))
	// The request's W3C trace when Kong traces, else the correlation-id
	// plugin's ID, else Kong's request ID.
	if tid, ok := obj["trace_id"].(map[string]any); ok && record.IsHexID(dialect.StringOf(tid["w3c"]), 32) {
		f["trace_id"] = tid["w3c"]
	} else {
		dialect.SetFirst(f, "correlation_id", dialect.NonEmpty(obj["correlation_id"]), dialect.NonEmpty(req["id"]))
	}
	if id := dialect.NonEmpty(req["id"]); id != nil {
		f["kong_request_id"] = id
	}
	for k, name := range map[string]string{"workspace": "workspace", "workspace_name": "workspace_name", "source": "kong_source"} {
		if v := dialect.NonEmpty(obj[k]); v != nil {
			f[name] = v
		}
	}
	if route, ok := obj["route"].(map[string]any); ok {
		dialect.SetFirst(f, "route_id", dialect.NonEmpty(route["id"]))
	}
	if service, ok := obj["service"].(map[string]any); ok {
		dialect.SetFirst(f, "service_id", dialect.NonEmpty(service["id"]))
	}
	if resp, ok := obj["response"].(map[string]any); ok {
		dialect.SetFirst(f, "response_status", resp["status"])
	}
	dialect.SetFirst(f, "ai_plugin_id", dialect.NonEmpty(meta["plugin_id"]))
	return f
}

// kongSection finds a plugin's object in either layout of Kong's ai log:
// under ai.proxy (the layout Kong 3.14 documents), or keyed by the plugin's
// own name at the ai level, as earlier releases logged ai-proxy's usage and
// meta (ai["ai-proxy"].meta; a guard's object, ai["ai-aws-guardrails"], is
// read the same way by analogy); sub, when set, is a key inside it (meta).
func kongSection(ai, proxy map[string]any, plugin, sub string) (map[string]any, bool) {
	if sub != "" {
		if m, ok := proxy[sub].(map[string]any); ok {
			return m, true
		}
		for _, key := range []string{"ai-" + plugin, "ai-" + plugin + "-advanced"} {
			if p, ok := ai[key].(map[string]any); ok {
				if m, ok := p[sub].(map[string]any); ok {
					return m, true
				}
			}
		}
		return nil, false
	}
	if m, ok := proxy[plugin].(map[string]any); ok {
		return m, true
	}
	m, ok := ai["ai-"+plugin].(map[string]any)
	return m, ok
}

// kongModeStage: a plugin guarding only input judges the request, only
// output the response; BOTH (or no mode) names no one stage.
func kongModeStage(mode any) string {
	switch strings.ToUpper(dialect.StringOf(mode)) {
	case "INPUT":
		return "request"
	case "OUTPUT":
		return "response"
	}
	return ""
}

// lakeraDetectors are the detector types Lakera reported as detected.
func lakeraDetectors(details ...any) []any {
	var names []string
	for _, d := range details {
		items, _ := d.([]any)
		for _, it := range items {
			if m, ok := it.(map[string]any); ok && m["detected"] == true {
				if t := dialect.StringOf(m["detector_type"]); t != "" {
					names = append(names, t)
				}
			}
		}
	}
	return dialect.SplitList(strings.Join(names, ","))
}
