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
var opaInputNames = [...]string{
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
func flattenOPA(ev *jsonbody.Value) jsonbody.Value {
	var flat dialect.Object
	for _, m := range dialect.Members(ev) {
		switch m.Key {
		case "result", "input", "bundles", "decision_id":
		default:
			flat.Set(m.Key, m.Value)
		}
	}
	if id, ok := dialect.Member(ev, "decision_id"); ok {
		flat.Set("event_id", *id)
	}
	bundles, hasBundles := dialect.Member(ev, "bundles")
	if rev := bundleRevision(bundles); rev != "" {
		flat.SetString("policy_version", rev)
	} else if hasBundles {
		flat.Set("bundles", *bundles)
	}

	if in, ok := dialect.Member(ev, "input"); ok && in.Kind == jsonbody.Object {
		var taken [len(opaInputNames)]bool
		for i, k := range opaInputNames {
			if v, ok := in.Lookup(k); ok && !flat.Has(k) {
				flat.Set(k, *v)
				taken[i] = true
			}
		}
		var rest dialect.Object
		for _, m := range dialect.Members(in) {
			if i := inputName(m.Key); i < 0 || !taken[i] {
				rest.Set(m.Key, m.Value)
			}
		}
		if rest.Len() > 0 {
			flat.Set("input", rest.Value())
		}
	} else if ok {
		flat.Set("input", *in)
	}

	switch res := dialect.Get(ev, "result"); {
	case res == nil:
	case res.Kind == jsonbody.Object:
		flat.SetMembers(res)
		// A policy that answers {"allow": true} decides by that boolean.
		if allow := dialect.Get(res, "allow"); allow != nil && allow.Kind == jsonbody.Bool && !hasAny(res, "decision", "verdict", "action", "result") {
			flat.Set("decision", *allow)
			flat.Delete("allow")
		}
	default:
		flat.Set("decision", *res)
	}
	// A policy that does not name itself is named by the rule OPA evaluated.
	if path := dialect.Get(ev, "path"); path != nil && path.Kind == jsonbody.String && !flat.Has("policy_id") && !flat.Has("policy") {
		flat.Set("policy_id", *path)
	}
	return flat.Value()
}

// inputName is the index of key in opaInputNames, or -1.
func inputName(key string) int {
	for i, k := range opaInputNames {
		if k == key {
			return i
		}
	}
	return -1
}

// bundleRevision is the revision of the only bundle, or of all bundles as
// name=revision pairs in name order.
func bundleRevision(v *jsonbody.Value) string {
	bundles := dialect.Members(v)
	if len(bundles) == 0 {
		return ""
	}
	sorted := make([]jsonbody.Member, len(bundles))
	copy(sorted, bundles)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Key < sorted[j].Key })
	parts := make([]string, 0, len(sorted))
	for i := range sorted {
		rev := dialect.Text(dialect.Get(&sorted[i].Value, "revision"))
		if rev == "" {
			continue
		}
		if len(sorted) == 1 {
			return rev
		}
		parts = append(parts, sorted[i].Key+"="+rev)
	}
	return strings.Join(parts, ",")
}

func hasAny(obj *jsonbody.Value, keys ...string) bool {
	for _, k := range keys {
		if _, ok := obj.Lookup(k); ok {
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
	hints.Kind = record.KindDecision
	rec, err := record.NormalizeValue(flattenOPA(&obj), hints)
	return append(dst, rec), err // on error, the record as far as the input allows
}
