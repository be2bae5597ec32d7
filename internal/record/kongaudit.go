package record

import (
	"encoding/json"
	"strings"
)

// Kong Gateway Enterprise's admin audit log, as its Admin API lists it
// (docs/records.md, "Kong admin audit log"): /audit/requests has one entry
// per Admin API request, /audit/objects one per database entity a request
// changed, joined by request_id. Each becomes an admin event.

// KongAuditRequest maps an /audit/requests entry: who called which Admin
// API path, and whether it succeeded. The request payload may hold
// credentials: it is kept only as a body (removed unless body_logging).
func KongAuditRequest(e map[string]any) (*Record, error) {
	method := strings.ToLower(stringOf(e["method"]))
	f := map[string]any{
		"action":         "admin_api." + method,
		"actor":          kongAuditActor(e),
		"resource":       map[string]any{"type": "admin_api", "id": e["path"]},
		"outcome":        kongOutcome(e["status"]),
		"created_at":     e["request_timestamp"],
		"correlation_id": e["request_id"],
		"gateway":        kongGateway,
	}
	for k, name := range map[string]string{"status": "status", "workspace": "workspace", "signature": "signature", "request_source": "request_source", "ttl": "ttl"} {
		if v := nonEmpty(e[k]); v != nil {
			f[name] = v
		}
	}
	if v := nonEmpty(e["payload"]); v != nil {
		f["request_body"] = v
	}
	return Normalize(f, Hints{Kind: KindAdmin})
}

// KongAuditObject maps an /audit/objects entry: <dao_name>.<operation> on
// the entity, by the actor of the request that made it (by, when the
// request's entry is known). A guardrail plugin's entity names the policy
// its decisions carry, so a deny joins to the change of its guardrail; the
// entity itself (plugin configs hold provider credentials) is not carried.
func KongAuditObject(e map[string]any, by map[string]any) (*Record, error) {
	dao := strings.ToLower(stringOf(e["dao_name"]))
	f := map[string]any{
		"action":         dao + "." + strings.ToLower(stringOf(e["operation"])),
		"resource":       map[string]any{"type": dao, "id": e["entity_key"]},
		"outcome":        "success",
		"created_at":     e["request_timestamp"],
		"correlation_id": e["request_id"],
		"gateway":        kongGateway,
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
	return Normalize(f, Hints{Kind: KindAdmin})
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
		return "ai-sanitizer", kongSanitizer
	}
	return "", ""
}

func firstString(values ...any) string {
	for _, v := range values {
		if s := stringOf(v); s != "" {
			return s
		}
	}
	return ""
}
