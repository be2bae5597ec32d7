// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package record

// The canonical record's field names (docs/records.md), each written once.
// Everything that names a field (the canonical JSON, the destinations'
// attributes, the audit store's columns, its query parameters) uses these;
// Fields describes each one for code that maps them all.
const (
	FieldSchemaVersion        = "schema_version"
	FieldEventKind            = "event_kind"
	FieldEventID              = "event_id"
	FieldCreatedAt            = "created_at"
	FieldCorrelationID        = "correlation_id"
	FieldCorrelationGenerated = "correlation_generated"
	FieldTraceID              = "trace_id"
	FieldSpanID               = "span_id"

	FieldDecision            = "decision"
	FieldDecisionRaw         = "decision_raw"
	FieldEffectiveDecision   = "effective_decision"
	FieldRolloutMode         = "rollout_mode"
	FieldEnforced            = "enforced"
	FieldReasonCode          = "reason_code"
	FieldPolicyID            = "policy_id"
	FieldPolicyVersion       = "policy_version"
	FieldPolicyUser          = "policy_user"
	FieldAPIKeyID            = "api_key_id"
	FieldProjectID           = "project_id"
	FieldPolicyTarget        = "policy_target"
	FieldModel               = "model"
	FieldProvider            = "provider"
	FieldStage               = "stage"
	FieldTriggeredCategories = "triggered_categories"
	FieldAllowlistHits       = "allowlist_hits"
	FieldDenylistHits        = "denylist_hits"
	FieldClassification      = "classification"
	FieldGateway             = "gateway"
	// FieldUsage is the call's usage and outcome, when the gateway says
	// (records.md section 1): the members below, each only when given.
	FieldUsage = "usage"

	FieldActor    = "actor"
	FieldAction   = "action"
	FieldResource = "resource"
	FieldOutcome  = "outcome"
	FieldDetails  = "details"

	FieldExtra       = "extra"
	FieldSchemaError = "schema_error"

	// The members of usage.
	UsageInputTokens  = "input_tokens"
	UsageOutputTokens = "output_tokens"
	UsageTotalTokens  = "total_tokens"
	UsageCost         = "cost"
	UsageCurrency     = "currency"
	UsageLatencyMS    = "latency_ms"
	UsageStatusCode   = "status_code"
	UsageRequestPath  = "request_path"

	// The fields of actor and resource.
	SubfieldID   = "id"
	SubfieldType = "type"
	SubfieldIP   = "ip"
	SubfieldName = "name"
)

// FieldType is the JSON shape of a field's value.
type FieldType uint8

const (
	TypeString  FieldType = iota
	TypeBool              // true or false
	TypeTime              // a string in TimestampLayout (UTC, milliseconds)
	TypeStrings           // a list of strings
	TypeObject            // an object with the Subfields listed
	TypeFree              // an object of any content (details, extra)
)

// Presence says when a field is in a record of a kind that has it.
type Presence uint8

const (
	// Always: in every record of the kind.
	Always Presence = iota
	// WhenSet: only when it has a value (a non-empty string, a true flag, a
	// list the input had, a non-empty object).
	WhenSet
)

// Role marks what a field is for, beyond its content.
type Role uint8

const (
	// RoleIdentity: an ID or a time the normaliser wrote, never user content.
	RoleIdentity Role = 1 << iota
	// RoleRouting: destinations route, de-duplicate and join on it.
	RoleRouting
)

// Field describes one canonical field.
type Field struct {
	Name      string
	Type      FieldType
	Presence  Presence
	Roles     Role
	Subfields []Field // of a TypeObject field
}

// Has reports whether f has the role.
func (f Field) Has(r Role) bool { return f.Roles&r != 0 }

var (
	headerFields = []Field{
		{Name: FieldSchemaVersion, Roles: RoleIdentity | RoleRouting},
		{Name: FieldEventKind, Roles: RoleIdentity | RoleRouting},
		{Name: FieldEventID, Roles: RoleIdentity | RoleRouting},
		{Name: FieldCreatedAt, Type: TypeTime, Roles: RoleIdentity | RoleRouting},
		{Name: FieldCorrelationID, Roles: RoleIdentity | RoleRouting},
		{Name: FieldCorrelationGenerated, Type: TypeBool, Presence: WhenSet},
		{Name: FieldTraceID, Presence: WhenSet, Roles: RoleIdentity},
		{Name: FieldSpanID, Presence: WhenSet, Roles: RoleIdentity},
	}
	trailerFields = []Field{
		{Name: FieldExtra, Type: TypeFree, Presence: WhenSet},
		{Name: FieldSchemaError, Presence: WhenSet, Roles: RoleRouting},
	}

	decisionFields = concat(headerFields, []Field{
		{Name: FieldDecision, Roles: RoleRouting},
		{Name: FieldDecisionRaw, Presence: WhenSet},
		{Name: FieldEffectiveDecision, Roles: RoleRouting},
		{Name: FieldRolloutMode, Roles: RoleRouting},
		{Name: FieldEnforced, Type: TypeBool, Roles: RoleRouting},
		{Name: FieldReasonCode, Roles: RoleRouting},
		{Name: FieldPolicyID, Roles: RoleRouting},
		{Name: FieldPolicyVersion, Roles: RoleRouting},
		{Name: FieldPolicyUser, Presence: WhenSet},
		{Name: FieldAPIKeyID, Presence: WhenSet},
		{Name: FieldProjectID, Presence: WhenSet},
		{Name: FieldPolicyTarget, Presence: WhenSet},
		{Name: FieldModel, Presence: WhenSet},
		{Name: FieldProvider, Presence: WhenSet},
		{Name: FieldStage, Presence: WhenSet},
		{Name: FieldTriggeredCategories, Type: TypeStrings},
		{Name: FieldAllowlistHits, Type: TypeStrings},
		{Name: FieldDenylistHits, Type: TypeStrings},
		{Name: FieldClassification, Type: TypeStrings, Presence: WhenSet},
		{Name: FieldGateway, Presence: WhenSet},
		{Name: FieldUsage, Type: TypeFree, Presence: WhenSet},
	}, trailerFields)

	adminFields = concat(headerFields, []Field{
		{Name: FieldActor, Type: TypeObject, Subfields: []Field{
			{Name: SubfieldID},
			{Name: SubfieldType},
			{Name: SubfieldIP, Presence: WhenSet},
		}},
		{Name: FieldAction, Roles: RoleRouting},
		{Name: FieldResource, Type: TypeObject, Subfields: []Field{
			{Name: SubfieldType},
			{Name: SubfieldID},
			{Name: SubfieldName, Presence: WhenSet},
		}},
		{Name: FieldOutcome, Roles: RoleRouting},
		{Name: FieldDetails, Type: TypeFree, Presence: WhenSet},
		{Name: FieldPolicyID, Presence: WhenSet, Roles: RoleRouting},
		{Name: FieldPolicyVersion, Presence: WhenSet, Roles: RoleRouting},
	}, trailerFields)
)

func concat(parts ...[]Field) []Field {
	var out []Field
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// FieldsOf returns the fields of a record of kind k in the order the
// canonical record writes them (Record.CopyTo; a test holds the two
// together). The slice is shared: do not modify it.
func FieldsOf(k Kind) []Field {
	if k == KindAdmin {
		return adminFields
	}
	return decisionFields
}

// FieldNamesWith returns the names of the fields of either kind that have
// role r.
func FieldNamesWith(r Role) map[string]bool {
	out := map[string]bool{}
	for _, fields := range [][]Field{decisionFields, adminFields} {
		for _, f := range fields {
			if f.Has(r) {
				out[f.Name] = true
			}
		}
	}
	return out
}
