package ocsf

import (
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/policyaudit/policyaudit/internal/record"
)

// entityActivity is the Entity Management activity of an action's verb
// (events/iam/entity_management.json); any other verb is Other (99), named
// after the verb.
var entityActivity = map[string]struct {
	id   int64
	name string
}{
	"create": {1, "Create"}, "read": {2, "Read"}, "update": {3, "Update"}, "delete": {4, "Delete"},
	"move": {5, "Move"}, "enroll": {6, "Enroll"}, "unenroll": {7, "Unenroll"}, "enable": {8, "Enable"},
	"disable": {9, "Disable"}, "activate": {10, "Activate"}, "deactivate": {11, "Deactivate"},
	"suspend": {12, "Suspend"}, "resume": {13, "Resume"},
}

// userTypes are the user object's type_id of the canonical actor types.
var userTypes = map[string]struct {
	id   int64
	name string
}{
	"user": {1, "User"}, "service": {4, "Service"}, "api_key": {99, "API Key"},
}

// entityManagement writes an admin event as an Entity Management (3004):
// who (actor, from the canonical record after the data policy) did what
// (the verb) to which entity (the resource; a policy as entity.policy with
// its version), with what result.
func entityManagement(rec *record.Record, canonical pcommon.Map, p Product, ev pcommon.Map) (int64, int64) {
	_, verb, _ := strings.Cut(rec.Action, ".")
	act, known := entityActivity[verb]
	if !known {
		act.id, act.name = 99, titleCase(verb)
	}
	class, typeUID := header(ev, rec, p, categoryIAM, ClassEntityManagement, act.id, act.name, severityInformational)
	ev.PutStr("message", rec.Action+" "+rec.Resource.Type+" "+rec.Resource.ID+": "+rec.Outcome)
	status := int64(statusSuccess)
	if rec.Outcome != "success" {
		status = statusFailure
	}
	ev.PutInt("status_id", status)

	actorID := str(canonical, record.FieldActor, record.SubfieldID)
	actor := ev.PutEmptyMap("actor")
	user := actor.PutEmptyMap("user")
	user.PutStr("uid", orUnknown(actorID))
	if t, ok := userTypes[str(canonical, record.FieldActor, record.SubfieldType)]; ok {
		user.PutInt("type_id", t.id)
		user.PutStr("type", t.name)
	}
	if ip := str(canonical, record.FieldActor, record.SubfieldIP); ip != "" {
		ev.PutEmptyMap("src_endpoint").PutStr("ip", ip)
	}

	before := fromVersion(canonical)
	writeEntity(ev.PutEmptyMap("entity"), rec, before)
	if rec.Outcome == "success" {
		writeEntity(ev.PutEmptyMap("entity_result"), rec, rec.PolicyVersion)
	}
	if c := detailText(canonical, "comment", "reason", "note"); c != "" {
		ev.PutStr("comment", c)
	}
	unmapped(ev, canonical, []string{record.FieldEventID, record.FieldCreatedAt, record.FieldCorrelationID,
		record.FieldActor, record.FieldAction, record.FieldResource, record.FieldOutcome,
		record.FieldPolicyID, record.FieldPolicyVersion})
	return class, typeUID
}

// writeEntity writes the resource an admin action changed, at a version
// (a policy's version before or after the change; "" when not known).
func writeEntity(m pcommon.Map, rec *record.Record, version string) {
	m.PutStr("type", rec.Resource.Type)
	m.PutStr("uid", rec.Resource.ID)
	putIf(m, "name", rec.Resource.Name)
	if version != "" && version != record.UnknownPolicyVersion {
		m.PutStr("version", version)
	}
	if rec.Resource.Type == "policy" {
		pol := m.PutEmptyMap("policy")
		pol.PutStr("uid", rec.Resource.ID)
		pol.PutStr("name", orUnknown(firstOf(rec.Resource.Name, rec.Resource.ID)))
		if version != "" && version != record.UnknownPolicyVersion {
			pol.PutStr("version", version)
		}
	}
}

// fromVersion is the version a change started from, when its details say.
func fromVersion(canonical pcommon.Map) string {
	return str(canonical, record.FieldDetails, "from_version")
}

// detailText is the first of the details' text fields that is set.
func detailText(canonical pcommon.Map, keys ...string) string {
	for _, k := range keys {
		if s := str(canonical, record.FieldDetails, k); s != "" {
			return s
		}
	}
	return ""
}

func firstOf(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}
