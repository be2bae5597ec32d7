// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

// Package opa is the dialect of Open Policy Agent's decision logs: OPA's
// decision_logs plugin posts gzip JSON arrays of events to
// /v1/opa/logs; an event posted to /v1/decisions, or arriving through OTLP
// or filelog, is recognised by its shape (Shaped).
package opa // import "github.com/policyaudit/policyaudit/internal/dialect/opa"

import (
	"sort"
	"strings"

	"github.com/policyaudit/policyaudit/internal/dialect"
	"github.com/policyaudit/policyaudit/internal/jsonbody"
	"github.com/policyaudit/policyaudit/internal/record"
)

// opaInputNames are the keys of an OPA event's input that name canonical
// fields (the gateway's own request attributes). The rest of input stays
// under extra.input: it is what the policy was asked, possibly with prompt
// text, which the processor's body policy removes unless enabled.
var opaInputNames = []string{
	"user", "user_id", "policy_user", "caller", "api_key_id", "key_id",
	"project", "project_id", "policy_project_id", "model", "gen_ai.request.model",
	"provider", "gen_ai.provider.name", "stage", "phase", "target", "policy_target",
	"request_id", "correlation_id", "x_request_id", "traceparent",
	"rollout_mode", "mode", "enforced", "gateway",
}

// flattenOPA turns an OPA decision-log event into the flat dialect: the
// result's fields (or the result itself, for a boolean or string policy),
// decision_id as event_id, the bundle revision as policy_version, the
// timestamp and trace context, and the caller fields of input. Every other
// key is kept for extra.
func flattenOPA(ev map[string]any) map[string]any {
	flat := make(map[string]any, len(ev)+8)
	for k, v := range ev {
		switch k {
		case "result", "input", "bundles", "decision_id":
		default:
			flat[k] = v
		}
	}
	if id, ok := ev["decision_id"]; ok {
		flat["event_id"] = id
	}
	if rev := bundleRevision(ev["bundles"]); rev != "" {
		flat["policy_version"] = rev
	} else if b, ok := ev["bundles"]; ok {
		flat["bundles"] = b
	}

	if in, ok := ev["input"].(map[string]any); ok {
		rest := make(map[string]any, len(in))
		for k, v := range in {
			rest[k] = v
		}
		for _, k := range opaInputNames {
			if v, ok := in[k]; ok {
				if _, taken := flat[k]; !taken {
					flat[k] = v
					delete(rest, k)
				}
			}
		}
		if len(rest) > 0 {
			flat["input"] = rest
		}
	} else if in, ok := ev["input"]; ok {
		flat["input"] = in
	}

	switch res := ev["result"].(type) {
	case map[string]any:
		for k, v := range res {
			flat[k] = v
		}
		// A policy that answers {"allow": true} decides by that boolean.
		if allow, ok := res["allow"].(bool); ok && !hasAny(res, "decision", "verdict", "action", "result") {
			flat["decision"] = allow
			delete(flat, "allow")
		}
	case nil:
	default:
		flat["decision"] = res
	}
	// A policy that does not name itself is named by the rule OPA evaluated.
	if path, ok := ev["path"].(string); ok && !hasAny(flat, "policy_id", "policy") {
		flat["policy_id"] = path
	}
	return flat
}

// bundleRevision is the revision of the only bundle, or of all bundles as
// name=revision pairs in name order.
func bundleRevision(v any) string {
	bundles, ok := v.(map[string]any)
	if !ok || len(bundles) == 0 {
		return ""
	}
	names := make([]string, 0, len(bundles))
	for name := range bundles {
		names = append(names, name)
	}
	sort.Strings(names)
	parts := make([]string, 0, len(names))
	for _, name := range names {
		b, _ := bundles[name].(map[string]any)
		rev, _ := record.ScalarString(b["revision"])
		if rev == "" {
			continue
		}
		if len(bundles) == 1 {
			return rev
		}
		parts = append(parts, name+"="+rev)
	}
	return strings.Join(parts, ",")
}

func hasAny(m map[string]any, keys ...string) bool {
	for _, k := range keys {
		if _, ok := m[k]; ok {
			return true
		}
	}
	return false
}

// Dialect is OPA's decision-log events.
var Dialect = dialect.Dialect{
	Name:      "opa",
	Path:      "/v1/opa/logs",
	Doc:       "Open Policy Agent decision-log events",
	Normalize: Normalize,
	Fixtures:  []string{"opa-decision-logs.json"},
}

// Shaped reports whether obj has the shape of an OPA decision-log event: a
// result, and a decision ID, bundles or a path.
func Shaped(obj jsonbody.Value) bool {
	if _, ok := obj.Lookup("result"); !ok {
		return false
	}
	for _, k := range []string{"decision_id", "bundles", "path"} {
		if _, ok := obj.Lookup(k); ok {
			return true
		}
	}
	return false
}

// Normalize maps one OPA decision-log event to a canonical policy decision:
// the event is reshaped into the flat dialect (flattenOPA) and normalised as
// a decision, with the transport's trace context and time.
func Normalize(dst []*record.Record, obj jsonbody.Value, hints record.Hints) ([]*record.Record, error) {
	event, _ := obj.Interface().(map[string]any)
	hints.Kind = record.KindDecision
	rec, err := record.NormalizeValue(jsonbody.FromAny(flattenOPA(event)), hints)
	return append(dst, rec), err // on error, the record as far as the input allows
}
