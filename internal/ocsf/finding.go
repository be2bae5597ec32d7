package ocsf

import (
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/policyaudit/policyaudit/internal/pdatajson"
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
	o := outcomeOf(rec)
	const activityCreate = 1
	class, typeUID := header(ev, rec, p, categoryFindings, ClassDetectionFinding, activityCreate, "Create", o.severity, "security_control")
	md, _ := ev.Get("metadata")
	md.Map().PutStr("uid", rec.EventID+findingSuffix)
	ev.PutStr("message", rec.Decision+" under policy "+rec.PolicyID+" version "+rec.PolicyVersion)
	const statusNew = 1
	ev.PutInt("status_id", statusNew)

	info := ev.PutEmptyMap("finding_info")
	info.PutStr("uid", rec.EventID+findingSuffix)
	info.PutStr("title", "LLM gateway "+rec.Decision+": "+orUnknown(rec.ReasonCode))
	types := info.PutEmptySlice("types")
	types.AppendEmpty().SetStr("LLM Policy Decision")
	info.PutInt("created_time", rec.CreatedAt.UnixMilli())
	rel := info.PutEmptySlice("related_events").AppendEmpty().SetEmptyMap()
	rel.PutStr("uid", rec.EventID)
	rel.PutInt("type_uid", ClassAPIActivity*100+activityOther)

	ev.PutInt("action_id", o.action)
	pdatajson.PutNonEmpty(ev, "action", o.actionName)
	ev.PutInt("disposition_id", o.disposition)
	ev.PutBool("is_alert", o.alert)
	writePolicy(ev.PutEmptyMap("policy"), rec, rec.Enforced)
	if firewallRule(rec) {
		writeFirewallRule(ev.PutEmptyMap("firewall_rule"), rec, canonical)
	}
	resources := ev.PutEmptySlice("resources")
	addResource(resources, "model", pdatajson.StringAt(canonical, record.FieldModel), "")
	addResource(resources, "route", pdatajson.StringAt(canonical, record.FieldPolicyTarget), "")
	project := pdatajson.StringAt(canonical, record.FieldProjectID)
	addResource(resources, "project", project, project)
	if resources.Len() == 0 {
		ev.Remove("resources")
	}
	return class, typeUID
}
