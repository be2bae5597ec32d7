// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

// Package kongaudit is the dialect of Kong Gateway Enterprise's admin audit
// log, as its Admin API lists it (docs/records.md, "Kong admin audit log"):
// /audit/requests has one entry per Admin API request, /audit/objects one
// per database entity a request changed, joined by request_id. Each becomes
// an admin event. The kongaudit receiver pulls it: no endpoint takes it.
package kongaudit // import "github.com/policyaudit/policyaudit/internal/dialect/kongaudit"

import (
	"strconv"
	"strings"

	"github.com/policyaudit/policyaudit/internal/dialect"
	"github.com/policyaudit/policyaudit/internal/dialect/kong"
	"github.com/policyaudit/policyaudit/internal/jsonbody"
	"github.com/policyaudit/policyaudit/internal/record"
)

// Dialect is Kong's admin audit log entries, pulled by the kongaudit
// receiver (NormalizeRequest, NormalizeObject); an entry alone normalises
// as a request entry, as `policyaudit normalize` shows it, unless it has a
// dao_name (null included): then as an object change by an unknown actor.
var Dialect = dialect.Dialect{
	Name: "kongaudit",
	Doc:  "Kong Gateway Enterprise's admin audit log entries (pulled by the kongaudit receiver)",
	Normalize: func(dst []*record.Record, obj jsonbody.Value, _ record.Hints) ([]*record.Record, error) {
		if _, isObject := dialect.Member(&obj, "dao_name"); isObject {
			return NormalizeObject(dst, obj, nil)
		}
		return NormalizeRequest(dst, obj)
	},
	// An Admin API request's payload may hold credentials.
	BodyFields: []string{"request_body"},
	Fixtures:   []string{"kong-audit.ndjson"},
}

// NormalizeRequest appends to dst the admin event of an /audit/requests
// entry: who called which Admin API path, and whether it succeeded. The
// request payload may hold credentials: it is kept only as a body (removed
// unless body_logging). On an error it returns dst as it was.
func NormalizeRequest(dst []*record.Record, e jsonbody.Value) ([]*record.Record, error) {
	var f dialect.Object
	f.SetString("action", "admin_api."+strings.ToLower(dialect.Text(dialect.Get(&e, "method"))))
	f.Set("actor", kongAuditActor(&e))
	var resource dialect.Object
	resource.SetString("type", "admin_api")
	resource.Set("id", dialect.OrNull(dialect.Get(&e, "path")))
	f.Set("resource", resource.Value())
	f.SetString("outcome", kongOutcome(dialect.Get(&e, "status")))
	// Set even when the entry lacks them (null then), as the map the
	// normaliser read before held them: the normaliser names them missing.
	f.Set("created_at", dialect.OrNull(dialect.Get(&e, "request_timestamp")))
	f.Set("correlation_id", dialect.OrNull(dialect.Get(&e, "request_id")))
	f.SetString("gateway", kong.Gateway)
	for _, k := range [...]string{"status", "workspace", "signature", "request_source", "ttl"} {
		f.SetFirst(k, dialect.NonEmptyAt(&e, k))
	}
	f.SetFirst("request_body", dialect.NonEmptyAt(&e, "payload"))
	return appendNormalized(dst, f)
}

// NormalizeObject appends to dst the admin event of an /audit/objects
// entry: <dao_name>.<operation> on the entity, by the actor of the request
// that made it (by, when the request's entry is known). A guardrail
// plugin's entity names the policy its decisions carry, so a deny joins to
// the change of its guardrail; the entity itself (plugin configs hold
// provider credentials) is not carried. On an error it returns dst as it
// was.
func NormalizeObject(dst []*record.Record, e jsonbody.Value, by *jsonbody.Value) ([]*record.Record, error) {
	dao := strings.ToLower(dialect.Text(dialect.Get(&e, "dao_name")))
	var f dialect.Object
	f.SetString("action", dao+"."+strings.ToLower(dialect.Text(dialect.Get(&e, "operation"))))
	var resource dialect.Object
	resource.SetString("type", dao)
	resource.Set("id", dialect.OrNull(dialect.Get(&e, "entity_key")))
	f.SetString("outcome", "success")
	f.Set("created_at", dialect.OrNull(dialect.Get(&e, "request_timestamp")))
	f.Set("correlation_id", dialect.OrNull(dialect.Get(&e, "request_id")))
	f.SetString("gateway", kong.Gateway)
	f.SetFirst("event_id", dialect.NonEmptyAt(&e, "id"))
	if by != nil {
		f.Set("actor", kongAuditActor(by))
	} else {
		var actor dialect.Object
		actor.SetString("id", "unknown")
		actor.SetString("type", "service")
		f.Set("actor", actor.Value())
	}
	if name, policy := kongGuardEntity(dialect.Get(&e, "entity")); name != "" {
		resource.SetString("name", name)
		f.SetString("policy_id", policy)
	}
	f.Set("resource", resource.Value())
	f.SetFirst("signature", dialect.NonEmptyAt(&e, "signature"))
	return appendNormalized(dst, f)
}

// appendNormalized appends the admin event of f to dst, or returns dst as
// it was with the error.
func appendNormalized(dst []*record.Record, f dialect.Object) ([]*record.Record, error) {
	rec, err := record.NormalizeValue(f.Value(), record.Hints{Kind: record.KindAdmin})
	if err != nil {
		return dst, err
	}
	return append(dst, rec), nil
}

// kongAuditActor is the RBAC user of an Admin API request, else whoever
// called from its client address.
func kongAuditActor(e *jsonbody.Value) jsonbody.Value {
	var a dialect.Object
	a.SetString("type", "user")
	a.SetFirst("id", dialect.NonEmptyAt(e, "rbac_user_name"), dialect.NonEmptyAt(e, "rbac_user_id"))
	if !a.Has("id") {
		a.SetString("id", "anonymous")
		a.SetString("type", "service")
	}
	a.SetFirst("ip", dialect.NonEmptyAt(e, "client_ip"))
	return a.Value()
}

// kongOutcome: a status below 400 (as its text: 1e2 is one) succeeded.
func kongOutcome(status *jsonbody.Value) string {
	if s := dialect.Text(status); len(s) == 3 && s[0] < '4' {
		return "success"
	}
	return "failure"
}

// kongGuardEntity reads a plugins entity (JSON text or an object) and, for
// a guardrail plugin, returns its name and the policy_id its decisions
// carry (as kongDecision sets it).
func kongGuardEntity(v *jsonbody.Value) (name, policy string) {
	entity := v
	if v != nil && v.Kind == jsonbody.String {
		decoded, ok := decodeEntity(v.Str)
		if !ok {
			return "", ""
		}
		entity = &decoded
	}
	if entity == nil || entity.Kind != jsonbody.Object {
		return "", ""
	}
	plugin := strings.TrimPrefix(dialect.Text(dialect.Get(entity, "name")), "ai-")
	conf := dialect.ObjectAt(entity, "config")
	switch plugin {
	case "aws-guardrails":
		return "ai-" + plugin, firstText(dialect.Get(conf, "guardrails_id"), plugin)
	case "gcp-model-armor":
		return "ai-" + plugin, firstText(dialect.Get(conf, "template_id"), plugin)
	case "lakera-guard":
		return "ai-" + plugin, firstText(dialect.Get(conf, "project_id"), plugin)
	case "azure-content-safety", "custom-guardrail":
		return "ai-" + plugin, plugin
	case "sanitizer":
		return "ai-sanitizer", kong.Sanitizer
	}
	return "", ""
}

// decodeEntity decodes an entity Kong gave as JSON text, as encoding/json
// decoded it into a map before (the records must not change): no limits
// but encoding/json's own bound on nesting (10000 levels, which jsonbody
// keeps when no limit is set), and its numbers as float64s, so a policy ID of
// 1e3 reads "1000" and an entity holding a number out of float64's range
// is not read at all (encoding/json refused it). The text is no larger
// than the page's string limit allowed.
func decodeEntity(text string) (jsonbody.Value, bool) {
	v, err := jsonbody.DecodeObject([]byte(text), jsonbody.Limits{})
	if err != nil || !asFloats(&v) {
		return jsonbody.Value{}, false
	}
	return v, true
}

// asFloats makes each number in v a Float (its text that of a float64),
// false when one is out of float64's range.
func asFloats(v *jsonbody.Value) bool {
	switch v.Kind {
	case jsonbody.Number:
		f, err := strconv.ParseFloat(v.Str, 64)
		if err != nil {
			return false
		}
		v.Kind, v.Str = jsonbody.Float, strconv.FormatFloat(f, 'g', -1, 64)
	case jsonbody.Object, jsonbody.Array:
		for i := range v.Items {
			if !asFloats(&v.Items[i].Value) {
				return false
			}
		}
	}
	return true
}

// firstText is v as text when it is a non-empty string or number, else
// fallback.
func firstText(v *jsonbody.Value, fallback string) string {
	if s := dialect.Text(v); s != "" {
		return s
	}
	return fallback
}
