// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package record

import (
	"strings"

	"github.com/policyaudit/policyaudit/internal/jsonbody"
)

// name is one input key the normaliser reads, registered once: a top-level
// key ("policy_id") or a key one level down, written with a dot
// ("policy.id"), which is looked up as a flat key first (the OpenTelemetry
// attribute style) and then inside its parent object. Registering every
// name lets an input index its members once, by name, so reading a field
// is an array access rather than a probe per alias.
type name uint8

// maxNames bounds the registry, and so the index each input holds.
const maxNames = 128

// noName marks a key that is not a registered name.
const noName name = maxNames - 1

var (
	nameIDs   = make(map[string]name, 128) // every registered name
	nameTexts []string                     // a name's text, by name
	parentOf  []name                       // a dotted name's parent ("policy" for "policy.id"), else noName
	childOf   []string                     // a dotted name's key in its parent ("id")
)

// names registers the input names a field accepts, in the order they are
// tried: the alias table is the list of these groups (below and next to
// each dialect's mapping).
func names(list ...string) []name {
	out := make([]name, len(list))
	for i, s := range list {
		out[i] = register(s)
	}
	return out
}

func register(s string) name {
	if id, ok := nameIDs[s]; ok {
		return id
	}
	parent, child := noName, ""
	if p, c, nested := strings.Cut(s, "."); nested {
		parent, child = register(p), c
		jsonbody.InternKeys(c)
	}
	id := name(len(nameTexts))
	if id >= noName {
		panic("record: more input names than maxNames") // at init only: a programming error
	}
	nameIDs[s] = id
	nameTexts = append(nameTexts, s)
	jsonbody.InternKeys(s)
	parentOf = append(parentOf, parent)
	childOf = append(childOf, child)
	return id
}

// The names of the record contract's own input (records.md), both kinds.
var (
	inSchemaVersion = names("schema_version")
	inEventKind     = names("event_kind")
	inEventID       = names("event_id", "id", "decision_id")
	inCreatedAt     = names("created_at", "timestamp", "time", "ts")
	inTraceID       = names("trace_id")
	inSpanID        = names("span_id")
	inTraceparent   = names("traceparent")
	inCorrelationID = names("correlation_id", "request_id", "x_request_id")
	inCorrGenerated = names("correlation_generated")
	inExtra         = names("extra")
	inPolicyID      = names("policy_id", "policy.id")
	inPolicyBare    = names("policy")
	inPolicyVersion = names("policy_version", "policy.version", "revision")

	// Decisions.
	inDecision          = names("decision", "verdict", "action", "result")
	inDecisionRaw       = names("decision_raw")
	inRolloutMode       = names("rollout_mode", "mode")
	inEnforced          = names("enforced")
	inEffective         = names("effective_decision")
	inReasonCode        = names("reason_code", "reason")
	inPolicyUser        = names("policy_user", "user", "user_id", "caller.user")
	inAPIKeyID          = names("api_key_id", "key_id", "caller.api_key_id")
	inProjectID         = names("project_id", "policy_project_id", "project")
	inPolicyTarget      = names("policy_target", "target")
	inModel             = names("model", "gen_ai.request.model")
	inProvider          = names("provider", "gen_ai.provider.name")
	inStage             = names("stage", "phase")
	inTriggered         = names("triggered_categories")
	inAllowlistHits     = names("allowlist_hits")
	inDenylistHits      = names("denylist_hits")
	inClassification    = names("classification", "data_classification", "tags")
	inGateway           = names("gateway", "service.name")
	inAdminShapedFields = names("actor", "admin", "resource", "operation")

	// Admin events.
	inActor       = names("actor", "user", "admin")
	inActorID     = names("id", "email", "name")
	inActorType   = names("type")
	inActorIP     = names("ip", "ip_address", "source_ip")
	inAction      = names("action", "event", "operation")
	inResource    = names("resource", "target")
	inResourceID  = names("id")
	inResourceTyp = names("type")
	inResourceNam = names("name")
	inOutcome     = names("outcome", "status")
	inDetails     = names("details", "changes")
)
