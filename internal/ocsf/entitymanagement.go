// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package ocsf

import (
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/policyaudit/policyaudit/internal/pdatajson"
	"github.com/policyaudit/policyaudit/internal/record"
)

// entityActivity is the Entity Management activity of an action's verb
// (events/iam/entity_management.json); any other verb is Other (99), named
// after the verb.
var entityActivity = map[string]struct {
	id   int32
	name string
}{
	"create": {1, "Create"}, "read": {2, "Read"}, "update": {3, "Update"}, "delete": {4, "Delete"},
	"move": {5, "Move"}, "enroll": {6, "Enroll"}, "unenroll": {7, "Unenroll"}, "enable": {8, "Enable"},
	"disable": {9, "Disable"}, "activate": {10, "Activate"}, "deactivate": {11, "Deactivate"},
	"suspend": {12, "Suspend"}, "resume": {13, "Resume"},
}

// userTypes are the user object's type_id of the canonical actor types.
var userTypes = map[string]struct {
	id   int32
	name string
}{
	"user": {1, "User"}, "service": {4, "Service"}, "api_key": {99, "API Key"},
}

// entityManagement fills an admin event as an Entity Management (3004):
// who (actor, from the canonical record after the data policy) did what
// (the verb) to which entity (the resource; a policy as entity.policy with
// its version), with what result.
func entityManagement(rec *record.Record, canonical pcommon.Map, p Product, row *EventRow) {
	_, verb, _ := strings.Cut(rec.Action, ".")
	act, ok := entityActivity[verb]
	if !ok {
		act.id, act.name = 99, titleCase(verb)
	}
	header(row, rec, p, categoryIAM, ClassEntityManagement, act.id, act.name, severityInformational)
	// The resource as the data policy left it: a PII rule may hide its id
	// or name (a user the action changed).
	res := changed{
		typ:  pdatajson.StringAt(canonical, record.FieldResource, record.SubfieldType),
		id:   pdatajson.StringAt(canonical, record.FieldResource, record.SubfieldID),
		name: pdatajson.StringAt(canonical, record.FieldResource, record.SubfieldName),
	}
	row.Message = ptr(rec.Action + " " + res.typ + " " + res.id + ": " + rec.Outcome)
	status := int32(statusSuccess)
	if rec.Outcome != "success" {
		status = statusFailure
	}
	row.StatusID = &status

	user := &User{UID: ptr(orUnknown(pdatajson.StringAt(canonical, record.FieldActor, record.SubfieldID)))}
	if t, ok := userTypes[pdatajson.StringAt(canonical, record.FieldActor, record.SubfieldType)]; ok {
		user.TypeID, user.Type = ptr(t.id), ptr(t.name)
	}
	row.Actor = &Actor{User: user}
	if ip := pdatajson.StringAt(canonical, record.FieldActor, record.SubfieldIP); ip != "" {
		row.SrcEndpoint = &Endpoint{IP: &ip}
	}

	used := []string{record.FieldEventID, record.FieldCreatedAt, record.FieldCorrelationID,
		record.FieldActor, record.FieldAction, record.FieldResource, record.FieldOutcome}
	// A policy resource names its policy in entity.policy; any other keeps
	// policy_id under unmapped.
	policyID := ""
	if res.typ == "policy" && rec.PolicyID != "" {
		policyID = rec.PolicyID
		used = append(used, record.FieldPolicyID)
	}
	row.Entity = entityOf(res, policyID, fromVersion(canonical))
	// The version a successful change produced is the result's; otherwise
	// policy_version stays under unmapped.
	if rec.Outcome == "success" {
		version := ""
		if policyID != "" && known(rec.PolicyVersion) {
			version = rec.PolicyVersion
			used = append(used, record.FieldPolicyVersion)
		}
		row.EntityResult = entityOf(res, policyID, version)
	}
	row.Comment = nonEmpty(detailText(canonical, "comment", "reason", "note"))
	row.Unmapped = unmapped(canonical, used)
}

// changed is the canonical resource an admin action changed.
type changed struct{ typ, id, name string }

// entityOf is the resource at a version (a policy's version before or
// after the change; "" when not known), a policy also as entity.policy.
func entityOf(res changed, policyID, version string) *Entity {
	e := &Entity{Type: ptr(res.typ), UID: ptr(res.id), Name: nonEmpty(res.name), Version: nonEmpty(version)}
	if policyID != "" {
		e.Policy = &Policy{UID: &policyID, Name: ptr(firstOf(res.name, policyID)), Version: nonEmpty(version)}
	}
	return e
}

func known(version string) bool { return version != "" && version != record.UnknownPolicyVersion }

// fromVersion is the version a change started from, when its details say.
func fromVersion(canonical pcommon.Map) string {
	if v := pdatajson.StringAt(canonical, record.FieldDetails, "from_version"); known(v) {
		return v
	}
	return ""
}

// detailText is the first of the details' text fields that is set.
func detailText(canonical pcommon.Map, keys ...string) string {
	for _, k := range keys {
		if s := pdatajson.StringAt(canonical, record.FieldDetails, k); s != "" {
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
