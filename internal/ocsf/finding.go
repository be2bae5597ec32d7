// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package ocsf

import (
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/policyaudit/policyaudit/internal/record"
)

// findingSuffix makes a finding's uid from its decision's event ID: the
// finding is an event of its own, tied to the decision by related_events
// and the correlation ID.
const findingSuffix = ":finding"

// WantsFinding reports whether a record also makes a Detection Finding:
// an enforced deny or escalation (a verdict only observed, in shadow mode
// or outside a canary's cohort, alerts nobody).
func WantsFinding(rec *record.Record) bool {
	return rec.Kind == record.KindDecision && rec.Enforced &&
		(rec.Decision == record.DecisionDeny || rec.Decision == record.DecisionEscalate)
}

// Finding writes the Detection Finding (2004) of a decision WantsFinding
// accepts, for SIEM content that expects alerts as findings: what was
// found (the verdict and its reason), the decision's API Activity as its
// related event, and the same Security Control outcome.
func Finding(rec *record.Record, canonical pcommon.Map, p Product, ev pcommon.Map) (int64, int64) {
	row := NewFinding(rec, canonical, p)
	PutBody(&row, ev)
	return int64(row.ClassUID), row.TypeUID
}

// NewFinding is the Detection Finding of a decision, which Finding writes.
func NewFinding(rec *record.Record, canonical pcommon.Map, p Product) EventRow {
	var row EventRow
	o := outcomeOf(rec)
	const activityCreate = 1
	header(&row, rec, p, categoryFindings, ClassDetectionFinding, activityCreate, "Create", o.severity, "security_control")
	row.Metadata.UID = ptr(rec.EventID + findingSuffix)
	row.Message = ptr(rec.Decision + " under policy " + rec.PolicyID + " version " + rec.PolicyVersion)
	const statusNew = 1
	row.StatusID = ptr[int32](statusNew)

	row.FindingInfo = &FindingInfo{
		UID:           rec.EventID + findingSuffix,
		Title:         ptr("LLM gateway " + rec.Decision + ": " + orUnknown(rec.ReasonCode)),
		Types:         []string{"LLM Policy Decision"},
		CreatedTime:   ptr(rec.CreatedAt.UnixMilli()),
		RelatedEvents: []RelatedEvent{{UID: rec.EventID, TypeUID: ptr[int64](ClassAPIActivity*100 + activityOther)}},
	}
	securityControl(&row, rec, o, canonical)
	row.Resources = resourcesOf(canonical)
	return row
}
