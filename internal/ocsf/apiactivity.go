// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

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
	action      int32
	actionName  string // only for Other
	disposition int32
	severity    int32
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

// apiActivity fills a policy decision as an API Activity (6003): the
// gateway's API call, its caller, the resources it named, and the policy
// decision in the Security Control profile.
func apiActivity(rec *record.Record, canonical pcommon.Map, p Product, row *EventRow) {
	used := make([]string, 0, 24)
	use := func(fields ...string) { used = append(used, fields...) }
	use(record.FieldEventID, record.FieldCreatedAt, record.FieldCorrelationID, record.FieldDecision,
		record.FieldEnforced, record.FieldReasonCode, record.FieldPolicyID, record.FieldPolicyVersion, record.FieldGateway)

	model, provider := pdatajson.StringAt(canonical, record.FieldModel), pdatajson.StringAt(canonical, record.FieldProvider)
	service := provider
	if service == "" {
		service = pdatajson.StringAt(canonical, record.FieldGateway)
	}
	usage := usageOf(canonical, service)
	use(record.FieldUsage)
	profiles := []string{"security_control"}
	if (model != "" && provider != "") || usage.messageContext != nil {
		profiles = append(profiles, "ai_operation")
	}
	if rec.TraceID != "" {
		profiles = append(profiles, "trace")
	}
	o := outcomeOf(rec)
	header(row, rec, p, categoryApplication, ClassAPIActivity, activityOther, "Policy Decision", o.severity, profiles...)

	row.Message = ptr(rec.Decision + " under policy " + rec.PolicyID + " version " + rec.PolicyVersion)
	status := int32(statusSuccess)
	if rec.EffectiveDecision == record.DecisionDeny {
		status = statusFailure
	}
	row.StatusID = &status
	row.StatusDetail = nonEmpty(rec.ReasonCode)

	// Security Control: what the control did, and under which policy.
	securityControl(row, rec, o, canonical)
	row.Authorizations = []Authorization{{Decision: ptr(rec.Decision), Policy: policyOf(rec, rec.Enforced)}}
	if row.FirewallRule != nil {
		use(record.FieldTriggeredCategories, record.FieldAllowlistHits, record.FieldDenylistHits)
	}

	// The API call: its operation (the route or target the gateway
	// guarded), the request, and the gateway that served it.
	target := pdatajson.StringAt(canonical, record.FieldPolicyTarget)
	row.API = &API{Operation: orUnknown(target), Request: &APIRequest{UID: rec.CorrelationID}}
	if gw := pdatajson.StringAt(canonical, record.FieldGateway); gw != "" {
		row.API.Service = &APIService{Name: &gw}
	}
	use(record.FieldPolicyTarget)

	callerOf(row, canonical)
	use(record.FieldPolicyUser, record.FieldAPIKeyID, record.FieldProjectID)

	row.Resources = resourcesOf(canonical)
	use(record.FieldModel)

	if model != "" && provider != "" {
		row.AIModel = &AIModel{Name: model, AIProvider: provider}
		use(record.FieldProvider)
	}
	if rec.TraceID != "" {
		row.Trace = &Trace{UID: rec.TraceID}
		use(record.FieldTraceID)
	}
	row.Unmapped = unmapped(canonical, used)
	usage.apply(row)
}

// securityControl fills the Security Control profile's attributes of an
// outcome, as an API Activity and a Detection Finding both carry them.
func securityControl(row *EventRow, rec *record.Record, o outcome, canonical pcommon.Map) {
	row.ActionID = ptr(o.action)
	row.Action = nonEmpty(o.actionName)
	row.DispositionID = ptr(o.disposition)
	row.IsAlert = ptr(o.alert)
	row.Policy = policyOf(rec, rec.Enforced)
	if firewallRule(rec) {
		row.FirewallRule = firewallRuleOf(rec, canonical)
	}
}

func policyOf(rec *record.Record, applied bool) *Policy {
	return &Policy{UID: ptr(rec.PolicyID), Name: ptr(rec.PolicyID), Version: nonEmpty(rec.PolicyVersion), IsApplied: &applied}
}

// firewallRule reports whether the decision names what matched: triggered
// categories, allow or deny list hits.
func firewallRule(rec *record.Record) bool {
	return len(rec.TriggeredCategories)+len(rec.AllowlistHits)+len(rec.DenylistHits) > 0
}

// firewallRuleOf: the rule that matched is the policy's, named by the
// reason; what matched is listed as category:, denylist: and allowlist:
// entries.
func firewallRuleOf(rec *record.Record, canonical pcommon.Map) *FirewallRule {
	fr := &FirewallRule{UID: ptr(rec.PolicyID), Name: ptr(orUnknown(rec.ReasonCode)), Version: nonEmpty(rec.PolicyVersion)}
	cats := strs(canonical, record.FieldTriggeredCategories)
	if len(cats) > 0 {
		fr.Category = &cats[0]
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
	fr.MatchDetails = details
	return fr
}

// callerOf fills the actor and the source of a decision: the user the
// gateway named (after the data policy), the API key as the user's
// credential (or as the client's identifier when no user is named), and
// the project as the calling application. OCSF requires a source endpoint;
// a decision carries no network address, so it is the calling application
// by name, "unknown" when the record names none.
func callerOf(row *EventRow, canonical pcommon.Map) {
	user, key, project := pdatajson.StringAt(canonical, record.FieldPolicyUser), pdatajson.StringAt(canonical, record.FieldAPIKeyID), pdatajson.StringAt(canonical, record.FieldProjectID)
	actor := &Actor{}
	switch {
	case user != "":
		actor.User = &User{UID: &user, CredentialUID: nonEmpty(key)}
	case key != "":
		actor.AppUID = &key
	}
	if project != "" || (actor.User == nil && actor.AppUID == nil) {
		actor.AppName = ptr(orUnknown(project))
	}
	row.Actor = actor
	row.SrcEndpoint = &Endpoint{Name: ptr(orUnknown(project))}
}

// resourcesOf is the model, the route and the project a record names, as
// resources; nil when it names none.
func resourcesOf(canonical pcommon.Map) []Resource {
	var list []Resource
	add := func(typ, name, uid string) {
		if name != "" || uid != "" {
			list = append(list, Resource{Type: ptr(typ), Name: nonEmpty(name), UID: nonEmpty(uid)})
		}
	}
	add("model", pdatajson.StringAt(canonical, record.FieldModel), "")
	add("route", pdatajson.StringAt(canonical, record.FieldPolicyTarget), "")
	project := pdatajson.StringAt(canonical, record.FieldProjectID)
	add("project", project, project)
	return list
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
