// Package ocsf writes canonical records as OCSF events (Open Cybersecurity
// Schema Framework, version 1.8.0): a policy decision as an API Activity
// with the Security Control profile, an admin event as an Entity
// Management, and, on request, a deny or an escalation also as a Detection
// Finding. docs/records.md section 13 gives the mapping and why; the tests
// validate every event against the schema's own files (testdata).
package ocsf

import (
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/policyaudit/policyaudit/internal/pdatajson"
	"github.com/policyaudit/policyaudit/internal/record"
)

// Version is the OCSF version the events declare and are validated against.
const Version = "1.8.0"

// Class UIDs (category UID × 1000 + the class's UID in its category).
const (
	ClassDetectionFinding = 2004
	ClassEntityManagement = 3004
	ClassAPIActivity      = 6003
)

// ClassOf is the class of a record's event.
func ClassOf(rec *record.Record) int64 {
	if rec.Kind == record.KindAdmin {
		return ClassEntityManagement
	}
	return ClassAPIActivity
}

// ClassName is a class's name in the schema ("api_activity"), as Splunk's
// OCSF sourcetypes (ocsf:<class>) and Security Lake's sources name it.
func ClassName(classUID int64) string {
	switch classUID {
	case ClassAPIActivity:
		return "api_activity"
	case ClassEntityManagement:
		return "entity_management"
	case ClassDetectionFinding:
		return "detection_finding"
	}
	return "unknown"
}

// Category UIDs.
const (
	categoryFindings    = 2
	categoryIAM         = 3
	categoryApplication = 6
)

// Product names what reported the event: policyaudit, at a version.
type Product struct {
	Name    string
	Vendor  string
	Version string
}

// Event writes the OCSF event of a canonical record into ev and returns its
// class UID and type UID. Every value a data policy may rewrite (the
// caller, the actor, the extra fields) is read from canonical, the record
// as it leaves; rec gives only what the policy cannot change (the kind,
// verdicts, rollout, identifiers, time).
func Event(rec *record.Record, canonical pcommon.Map, p Product, ev pcommon.Map) (classUID, typeUID int64) {
	if rec.Kind == record.KindAdmin {
		return entityManagement(rec, canonical, p, ev)
	}
	return apiActivity(rec, canonical, p, ev)
}

// header writes what every class has: class, category, activity, type,
// time, severity, status and metadata.
func header(ev pcommon.Map, rec *record.Record, p Product, category, class, activity int64, activityName string, severity int64, profiles ...string) (int64, int64) {
	typeUID := class*100 + activity
	ev.PutInt("category_uid", category)
	ev.PutInt("class_uid", class)
	ev.PutInt("activity_id", activity)
	if activityName != "" {
		ev.PutStr("activity_name", activityName)
	}
	ev.PutInt("type_uid", typeUID)
	ev.PutInt("time", rec.CreatedAt.UnixMilli())
	ev.PutInt("severity_id", severity)
	md := ev.PutEmptyMap("metadata")
	md.PutStr("version", Version)
	md.PutStr("uid", rec.EventID)
	md.PutStr("correlation_uid", rec.CorrelationID)
	md.PutStr("original_time", rec.CreatedAtString())
	md.PutStr("log_name", rec.Kind.String())
	prod := md.PutEmptyMap("product")
	prod.PutStr("name", p.Name)
	prod.PutStr("vendor_name", p.Vendor)
	pdatajson.PutNonEmpty(prod, "version", p.Version)
	if len(profiles) > 0 {
		list := md.PutEmptySlice("profiles")
		for _, pr := range profiles {
			list.AppendEmpty().SetStr(pr)
		}
	}
	return class, typeUID
}

// unmapped copies the canonical fields the mapping has no OCSF place for:
// every field of canonical not in mapped, so a field the record gains later
// is never lost.
func unmapped(ev, canonical pcommon.Map, mapped []string) {
	var um pcommon.Map
	for k, v := range canonical.All() {
		if contains(mapped, k) {
			continue
		}
		if um == (pcommon.Map{}) {
			um = ev.PutEmptyMap("unmapped")
		}
		v.CopyTo(um.PutEmpty(k))
	}
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// strs is a list-of-strings field of canonical.
func strs(canonical pcommon.Map, field string) []string {
	v, ok := canonical.Get(field)
	if !ok || v.Type() != pcommon.ValueTypeSlice {
		return nil
	}
	out := make([]string, 0, v.Slice().Len())
	for _, e := range v.Slice().All() {
		if e.Type() == pcommon.ValueTypeStr {
			out = append(out, e.Str())
		}
	}
	return out
}

func putList(m pcommon.Map, k string, values []string) {
	if len(values) == 0 {
		return
	}
	list := m.PutEmptySlice(k)
	for _, v := range values {
		list.AppendEmpty().SetStr(v)
	}
}

// titleCase is "Update" for "update": the activity name of a verb OCSF
// has no activity for.
func titleCase(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
