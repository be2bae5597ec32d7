// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

// Package ocsf writes canonical records as OCSF events (Open Cybersecurity
// Schema Framework, version 1.8.0): a policy decision as an API Activity
// with the Security Control profile, an admin event as an Entity
// Management, and, on request, a deny or an escalation also as a Detection
// Finding. docs/records.md section 13 gives the mapping and why; the tests
// validate every event against the schema's own files (testdata).
//
// An event is an EventRow, the one definition of its shape: the mapping
// fills it, PutBody writes it as a log body, and the Parquet encoding
// reads a body back into it (DecodeBody) to write it as a row.
package ocsf // import "github.com/policyaudit/policyaudit/internal/ocsf"
import (
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"

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
	row := NewEvent(rec, canonical, p)
	PutBody(&row, ev)
	return int64(row.ClassUID), row.TypeUID
}

// NewEvent is the OCSF event of a canonical record, which Event writes.
func NewEvent(rec *record.Record, canonical pcommon.Map, p Product) EventRow {
	var row EventRow
	if rec.Kind == record.KindAdmin {
		entityManagement(rec, canonical, p, &row)
	} else {
		apiActivity(rec, canonical, p, &row)
	}
	return row
}

// header fills what every class has: class, category, activity, type,
// time, severity and metadata.
func header(row *EventRow, rec *record.Record, p Product, category, class, activity int32, activityName string, severity int32, profiles ...string) {
	row.CategoryUID = category
	row.ClassUID = class
	row.ActivityID = activity
	row.ActivityName = nonEmpty(activityName)
	row.TypeUID = int64(class)*100 + int64(activity)
	row.Time = rec.CreatedAt.UnixMilli()
	row.SeverityID = severity
	row.Metadata = Metadata{
		Version:        Version,
		UID:            ptr(rec.EventID),
		CorrelationUID: ptr(rec.CorrelationID),
		OriginalTime:   ptr(rec.CreatedAtString()),
		LogName:        ptr(rec.Kind.String()),
		Product:        MetadataProduct{Name: ptr(p.Name), VendorName: ptr(p.Vendor), Version: nonEmpty(p.Version)},
		Profiles:       profiles,
	}
}

// unmapped copies the canonical fields the mapping has no OCSF place for:
// every field of canonical not in mapped, so a field the record gains later
// is never lost. None is the zero Map.
func unmapped(canonical pcommon.Map, mapped []string) pcommon.Map {
	var um pcommon.Map
	for k, v := range canonical.All() {
		if contains(mapped, k) {
			continue
		}
		if um == (pcommon.Map{}) {
			um = pcommon.NewMap()
		}
		v.CopyTo(um.PutEmpty(k))
	}
	return um
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

// ptr is a pointer to s: an attribute the event always has.
func ptr[T any](v T) *T { return &v }

// nonEmpty is a pointer to s, or nil (the attribute left out) when s is
// empty.
func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// titleCase is "Update" for "update": the activity name of a verb OCSF
// has no activity for.
func titleCase(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
