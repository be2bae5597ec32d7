// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

// Package kongaudit is the dialect of Kong Gateway Enterprise's admin audit
// log, as its Admin API lists it (docs/records.md, "Kong admin audit log"):
// /audit/requests has one entry per Admin API request, /audit/objects one
// per database entity a request changed, joined by request_id. Each becomes
// an admin event. The kongaudit receiver pulls it: no endpoint takes it.
package kongaudit // import "github.com/policyaudit/policyaudit/internal/dialect/kongaudit"

import (
	"encoding/json"
	"strings"

	"github.com/policyaudit/policyaudit/internal/dialect"
	"github.com/policyaudit/policyaudit/internal/dialect/kong"
	"github.com/policyaudit/policyaudit/internal/jsonbody"
	"github.com/policyaudit/policyaudit/internal/record"
)

// Dialect is Kong's admin audit log entries, pulled by the kongaudit
// receiver (KongAuditRequest, KongAuditObject); an entry alone normalises
// as a request entry, as `policyaudit normalize` shows it.
var Dialect = dialect.Dialect{
	Name: "kongaudit",
	Doc:  "Kong Gateway Enterprise's admin audit log entries (pulled by the kongaudit receiver)",
	Normalize: func(dst []*record.Record, obj jsonbody.Value, _ record.Hints) ([]*record.Record, error) {
		e, _ := obj.Interface().(map[string]any)
		if _, isObject := e["dao_name"]; isObject {
			rec, err := KongAuditObject(e, nil)
			if err != nil {
				return dst, err
			}
			return append(dst, rec), nil
		}
		rec, err := KongAuditRequest(e)
		if err != nil {
			return dst, err
		}
		return append(dst, rec), nil
	},
	// An Admin API request's payload may hold credentials.
	BodyFields: []string{"request_body"},
	Fixtures:   []string{"kong-audit.ndjson"},
}

// KongAuditRequest maps an /audit/requests entry: who called which Admin
// API path, and whether it succeeded. The request payload may hold
// credentials: it is kept only as a body (removed unless body_logging).
func KongAuditRequest(e map[string]any) (*record.Record, error) {
	method := strings.ToLower(stringOf(e["method"]))
	f := map[string]any{
		"action":         "admin_api." + method,
		"actor":          kongAuditActor(e),
		"resource":       map[string]any{"type": "admin_api", "id": e["path"]},
		"outcome":        kongOutcome(e["status"]),
		"created_at":     e["request_timestamp"],
		"correlation_id": e["request_id"],
		"gateway":        kong.Gateway,
	}
	for k, name := range map[string]string{"status": "status", "workspace": "workspace", "signature": "signature", "request_source": "request_source", "ttl": "ttl"} {
		if v := nonEmpty(e[k]); v != nil {
			f[name] = v
		}
	}
	if v := nonEmpty(e["payload"]); v != nil {
		f["request_body"] = v
	}
	return record.Normalize(f, record.Hints{Kind: record.KindAdmin})
}

// KongAuditObject maps an /audit/objects entry: <dao_name>.<operation> on
// the entity, by the actor of the request that made it (by, when the
// request's entry is known). A guardrail plugin's entity names the policy
// its decisions carry, so a deny joins to the change of its guardrail; the
// entity itself (plugin configs hold provider credentials) is not carried.
func KongAuditObject(e map[string]any, by map[string]any) (*record.Record, error) {
	dao := strings.ToLower(stringOf(e["dao_name"]))
	f := map[string]any{
		"action":         dao + "." + strings.ToLower(stringOf(e["operation"])),
		"resource":       map[string]any{"type": dao, "id": e["entity_key"]},
		"outcome":        "success",
		"created_at":     e["request_timestamp"],
		"correlation_id": e["request_id"],
		"gateway":        kong.Gateway,
	}
	setFirst(f, "event_id", nonEmpty(e["id"]))
	f["actor"] = map[string]any{"id": "unknown", "type": "service"}
	if by != nil {
		f["actor"] = kongAuditActor(by)
	}
	if name, policy := kongGuardEntity(e["entity"]); name != "" {
		f["resource"].(map[string]any)["name"] = name
		f["policy_id"] = policy
	}
	if v := nonEmpty(e["signature"]); v != nil {
		f["signature"] = v
	}
	return record.Normalize(f, record.Hints{Kind: record.KindAdmin})
}

// kongAuditActor is the RBAC user of an Admin API request, else whoever
// called from its client address.
func kongAuditActor(e map[string]any) map[string]any {
	a := map[string]any{"type": "user"}
	setFirst(a, "id", nonEmpty(e["rbac_user_name"]), nonEmpty(e["rbac_user_id"]))
	if _, ok := a["id"]; !ok {
		a["id"], a["type"] = "anonymous", "service"
	}
	if ip := nonEmpty(e["client_ip"]); ip != nil {
		a["ip"] = ip
	}
	return a
}

func kongOutcome(status any) string {
	if s := stringOf(status); len(s) == 3 && s[0] < '4' {
		return "success"
	}
	return "failure"
}

// kongGuardEntity reads a plugins entity (JSON text or an object) and, for
// a guardrail plugin, returns its name and the policy_id its decisions
// carry (as kongDecision sets it).
func kongGuardEntity(v any) (name, policy string) {
	entity, ok := v.(map[string]any)
	if s, isText := v.(string); isText {
		if json.Unmarshal([]byte(s), &entity) != nil {
			return "", ""
		}
		ok = true
	}
	if !ok {
		return "", ""
	}
	plugin := strings.TrimPrefix(stringOf(entity["name"]), "ai-")
	conf, _ := entity["config"].(map[string]any)
	switch plugin {
	case "aws-guardrails":
		return "ai-" + plugin, firstString(conf["guardrails_id"], plugin)
	case "gcp-model-armor":
		return "ai-" + plugin, firstString(conf["template_id"], plugin)
	case "lakera-guard":
		return "ai-" + plugin, firstString(conf["project_id"], plugin)
	case "azure-content-safety", "custom-guardrail":
		return "ai-" + plugin, plugin
	case "sanitizer":
		return "ai-sanitizer", kong.Sanitizer
	}
	return "", ""
}

// The receiver pages Kong's entries in as decoded maps (requests and objects
// joined by request_id), so an entry is read as a map here; these are the
// helpers that read them (the gateway dialects read jsonbody.Values).

// setFirst sets key to the first value that is not nil, if any.
func setFirst(f map[string]any, key string, values ...any) {
	for _, v := range values {
		if v != nil {
			f[key] = v
			return
		}
	}
}

// nonEmpty is v, or nil for an empty string.
func nonEmpty(v any) any {
	if s, ok := v.(string); ok && s == "" {
		return nil
	}
	return v
}

// stringOf is a string or number as text, else "".
func stringOf(v any) string {
	s, _ := record.ScalarString(v)
	return s
}

// firstString is the first of values that is a non-empty string or number.
func firstString(values ...any) string {
	for _, v := range values {
		if s := stringOf(v); s != "" {
			return s
		}
	}
	return ""
}
