package ocsf

import (
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/policyaudit/policyaudit/internal/pdatajson"
	"github.com/policyaudit/policyaudit/internal/record"
)

// Security Control profile values (profiles/security_control.json and the
// dictionary's action_id and disposition_id).
const (
	actionAllowed  = 1
	actionDenied   = 2
	actionObserved = 3
	actionModified = 4
	actionOther    = 99

	dispositionAllowed   = 1
	dispositionBlocked   = 2
	dispositionCorrected = 11
	dispositionDelayed   = 14
	dispositionLogged    = 17

	severityInformational = 1
	severityLow           = 2
	severityMedium        = 3

	statusSuccess = 1
	statusFailure = 2

	activityOther = 99
)

// outcome is how OCSF's Security Control profile says a verdict: the
// control's action, the disposition of the request, and whether it is an
// alert.
type outcome struct {
	action      int64
	actionName  string // only for Other
	disposition int64
	severity    int64
	alert       bool
}

// verdictOutcomes: allow lets the request through, deny blocks it, modify
// and redact change it (Corrected), escalate holds it for a person
// (Delayed; OCSF has no action for it, so Other, named "Escalate").
var verdictOutcomes = map[string]outcome{
	record.DecisionAllow:    {action: actionAllowed, disposition: dispositionAllowed, severity: severityInformational},
	record.DecisionDeny:     {action: actionDenied, disposition: dispositionBlocked, severity: severityMedium, alert: true},
	record.DecisionModify:   {action: actionModified, disposition: dispositionCorrected, severity: severityLow},
	record.DecisionRedact:   {action: actionModified, disposition: dispositionCorrected, severity: severityLow},
	record.DecisionEscalate: {action: actionOther, actionName: "Escalate", disposition: dispositionDelayed, severity: severityMedium, alert: true},
}

// outcomeOf is the outcome of a decision as enforced: a verdict that was
// not enforced (shadow mode, or a canary outside its cohort) was only
// observed and logged, and raises no alert.
func outcomeOf(rec *record.Record) outcome {
	o, ok := verdictOutcomes[rec.Decision]
	if !ok {
		o = outcome{action: 0, disposition: 0, severity: 0}
	}
	if !rec.Enforced {
		o.action, o.actionName, o.disposition, o.alert = actionObserved, "", dispositionLogged, false
	}
	return o
}

// apiActivity writes a policy decision as an API Activity (6003): the
// gateway's API call, its caller, the resources it named, and the policy
// decision in the Security Control profile.
func apiActivity(rec *record.Record, canonical pcommon.Map, p Product, ev pcommon.Map) (int64, int64) {
	used := make([]string, 0, 24)
	use := func(fields ...string) { used = append(used, fields...) }
	use(record.FieldEventID, record.FieldCreatedAt, record.FieldCorrelationID, record.FieldDecision,
		record.FieldEnforced, record.FieldReasonCode, record.FieldPolicyID, record.FieldPolicyVersion, record.FieldGateway)

	model, provider := pdatajson.StringAt(canonical, record.FieldModel), pdatajson.StringAt(canonical, record.FieldProvider)
	profiles := []string{"security_control"}
	if model != "" && provider != "" {
		profiles = append(profiles, "ai_operation")
	}
	if rec.TraceID != "" {
		profiles = append(profiles, "trace")
	}
	o := outcomeOf(rec)
	class, typeUID := header(ev, rec, p, categoryApplication, ClassAPIActivity, activityOther, "Policy Decision", o.severity, profiles...)

	ev.PutStr("message", rec.Decision+" under policy "+rec.PolicyID+" version "+rec.PolicyVersion)
	status := int64(statusSuccess)
	if rec.EffectiveDecision == record.DecisionDeny {
		status = statusFailure
	}
	ev.PutInt("status_id", status)
	pdatajson.PutNonEmpty(ev, "status_detail", rec.ReasonCode)

	// Security Control: what the control did, and under which policy.
	ev.PutInt("action_id", o.action)
	pdatajson.PutNonEmpty(ev, "action", o.actionName)
	ev.PutInt("disposition_id", o.disposition)
	ev.PutBool("is_alert", o.alert)
	writePolicy(ev.PutEmptyMap("policy"), rec, rec.Enforced)
	auth := ev.PutEmptySlice("authorizations").AppendEmpty().SetEmptyMap()
	auth.PutStr("decision", rec.Decision)
	writePolicy(auth.PutEmptyMap("policy"), rec, rec.Enforced)
	if firewallRule(rec) {
		use(record.FieldTriggeredCategories, record.FieldAllowlistHits, record.FieldDenylistHits)
		writeFirewallRule(ev.PutEmptyMap("firewall_rule"), rec, canonical)
	}

	// The API call: its operation (the route or target the gateway
	// guarded), the request, and the gateway that served it.
	api := ev.PutEmptyMap("api")
	target := pdatajson.StringAt(canonical, record.FieldPolicyTarget)
	api.PutStr("operation", orUnknown(target))
	api.PutEmptyMap("request").PutStr("uid", rec.CorrelationID)
	if gw := pdatajson.StringAt(canonical, record.FieldGateway); gw != "" {
		api.PutEmptyMap("service").PutStr("name", gw)
	}
	use(record.FieldPolicyTarget)

	writeCaller(ev, canonical)
	use(record.FieldPolicyUser, record.FieldAPIKeyID, record.FieldProjectID)

	resources := ev.PutEmptySlice("resources")
	addResource(resources, "model", model, "")
	addResource(resources, "route", target, "")
	project := pdatajson.StringAt(canonical, record.FieldProjectID)
	addResource(resources, "project", project, project)
	if resources.Len() == 0 {
		ev.Remove("resources")
	}
	use(record.FieldModel)

	if model != "" && provider != "" {
		ai := ev.PutEmptyMap("ai_model")
		ai.PutStr("name", model)
		ai.PutStr("ai_provider", provider)
		use(record.FieldProvider)
	}
	if rec.TraceID != "" {
		ev.PutEmptyMap("trace").PutStr("uid", rec.TraceID)
		use(record.FieldTraceID)
	}
	unmapped(ev, canonical, used)
	return class, typeUID
}

func writePolicy(m pcommon.Map, rec *record.Record, applied bool) {
	m.PutStr("uid", rec.PolicyID)
	m.PutStr("name", rec.PolicyID)
	pdatajson.PutNonEmpty(m, "version", rec.PolicyVersion)
	m.PutBool("is_applied", applied)
}

// firewallRule reports whether the decision names what matched: triggered
// categories, allow or deny list hits.
func firewallRule(rec *record.Record) bool {
	return len(rec.TriggeredCategories)+len(rec.AllowlistHits)+len(rec.DenylistHits) > 0
}

// writeFirewallRule: the rule that matched is the policy's, named by the
// reason; what matched is listed as category:, denylist: and allowlist:
// entries.
func writeFirewallRule(m pcommon.Map, rec *record.Record, canonical pcommon.Map) {
	m.PutStr("uid", rec.PolicyID)
	m.PutStr("name", orUnknown(rec.ReasonCode))
	pdatajson.PutNonEmpty(m, "version", rec.PolicyVersion)
	cats := strs(canonical, record.FieldTriggeredCategories)
	if len(cats) > 0 {
		m.PutStr("category", cats[0])
	}
	var details []string
	for _, c := range cats {
		details = append(details, "category:"+c)
	}
	for _, h := range strs(canonical, record.FieldDenylistHits) {
		details = append(details, "denylist:"+h)
	}
	for _, h := range strs(canonical, record.FieldAllowlistHits) {
		details = append(details, "allowlist:"+h)
	}
	putList(m, "match_details", details)
}

// writeCaller writes the actor and the source of a decision: the user the
// gateway named (after the data policy), the API key as the user's
// credential (or as the client's identifier when no user is named), and
// the project as the calling application. OCSF requires a source endpoint;
// a decision carries no network address, so it is the calling application
// by name, "unknown" when the record names none.
func writeCaller(ev, canonical pcommon.Map) {
	user, key, project := pdatajson.StringAt(canonical, record.FieldPolicyUser), pdatajson.StringAt(canonical, record.FieldAPIKeyID), pdatajson.StringAt(canonical, record.FieldProjectID)
	actor := ev.PutEmptyMap("actor")
	switch {
	case user != "":
		u := actor.PutEmptyMap("user")
		u.PutStr("uid", user)
		pdatajson.PutNonEmpty(u, "credential_uid", key)
	case key != "":
		actor.PutStr("app_uid", key)
	}
	if project != "" || actor.Len() == 0 {
		actor.PutStr("app_name", orUnknown(project))
	}
	ev.PutEmptyMap("src_endpoint").PutStr("name", orUnknown(project))
}

func addResource(list pcommon.Slice, typ, name, uid string) {
	if name == "" && uid == "" {
		return
	}
	r := list.AppendEmpty().SetEmptyMap()
	r.PutStr("type", typ)
	pdatajson.PutNonEmpty(r, "name", name)
	pdatajson.PutNonEmpty(r, "uid", uid)
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
