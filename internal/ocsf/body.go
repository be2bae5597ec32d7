// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package ocsf

import "go.opentelemetry.io/collector/pdata/pcommon"

// PutBody writes an event as a log body into ev, attribute by attribute,
// leaving out a nil pointer and an empty list. The keys come in one order
// for every class (pcommon maps keep it, and the JSON lines show it): the
// header, then the class's attributes as the OCSF dictionary groups them.
func PutBody(r *EventRow, ev pcommon.Map) {
	ev.EnsureCapacity(24)
	ev.PutInt("category_uid", int64(r.CategoryUID))
	ev.PutInt("class_uid", int64(r.ClassUID))
	ev.PutInt("activity_id", int64(r.ActivityID))
	putStr(ev, "activity_name", r.ActivityName)
	ev.PutInt("type_uid", r.TypeUID)
	ev.PutInt("time", r.Time)
	ev.PutInt("severity_id", int64(r.SeverityID))
	putMetadata(ev.PutEmptyMap("metadata"), &r.Metadata)
	putStr(ev, "message", r.Message)
	putInt32(ev, "status_id", r.StatusID)
	putStr(ev, "status_detail", r.StatusDetail)
	if fi := r.FindingInfo; fi != nil {
		putFindingInfo(ev.PutEmptyMap("finding_info"), fi)
	}
	putInt32(ev, "action_id", r.ActionID)
	putStr(ev, "action", r.Action)
	putInt32(ev, "disposition_id", r.DispositionID)
	if r.IsAlert != nil {
		ev.PutBool("is_alert", *r.IsAlert)
	}
	putPolicy(ev, "policy", r.Policy)
	if len(r.Authorizations) > 0 {
		list := ev.PutEmptySlice("authorizations")
		list.EnsureCapacity(len(r.Authorizations))
		for i := range r.Authorizations {
			a := &r.Authorizations[i]
			m := list.AppendEmpty().SetEmptyMap()
			putStr(m, "decision", a.Decision)
			putPolicy(m, "policy", a.Policy)
		}
	}
	if fr := r.FirewallRule; fr != nil {
		m := ev.PutEmptyMap("firewall_rule")
		putStr(m, "uid", fr.UID)
		putStr(m, "name", fr.Name)
		putStr(m, "version", fr.Version)
		putStr(m, "category", fr.Category)
		putStrs(m, "match_details", fr.MatchDetails)
	}
	if a := r.API; a != nil {
		m := ev.PutEmptyMap("api")
		m.PutStr("operation", a.Operation)
		if a.Request != nil {
			m.PutEmptyMap("request").PutStr("uid", a.Request.UID)
		}
		if a.Service != nil {
			putStr(m.PutEmptyMap("service"), "name", a.Service.Name)
		}
	}
	if a := r.Actor; a != nil {
		m := ev.PutEmptyMap("actor")
		if u := a.User; u != nil {
			um := m.PutEmptyMap("user")
			putStr(um, "uid", u.UID)
			putStr(um, "credential_uid", u.CredentialUID)
			putInt32(um, "type_id", u.TypeID)
			putStr(um, "type", u.Type)
		}
		putStr(m, "app_uid", a.AppUID)
		putStr(m, "app_name", a.AppName)
	}
	if e := r.SrcEndpoint; e != nil {
		m := ev.PutEmptyMap("src_endpoint")
		putStr(m, "name", e.Name)
		putStr(m, "ip", e.IP)
	}
	if len(r.Resources) > 0 {
		list := ev.PutEmptySlice("resources")
		list.EnsureCapacity(len(r.Resources))
		for i := range r.Resources {
			res := &r.Resources[i]
			m := list.AppendEmpty().SetEmptyMap()
			putStr(m, "type", res.Type)
			putStr(m, "name", res.Name)
			putStr(m, "uid", res.UID)
		}
	}
	if ai := r.AIModel; ai != nil {
		m := ev.PutEmptyMap("ai_model")
		m.PutStr("name", ai.Name)
		m.PutStr("ai_provider", ai.AIProvider)
	}
	if r.Trace != nil {
		ev.PutEmptyMap("trace").PutStr("uid", r.Trace.UID)
	}
	putUsage(ev, r)
	putEntity(ev, "entity", r.Entity)
	putEntity(ev, "entity_result", r.EntityResult)
	putStr(ev, "comment", r.Comment)
	if r.Unmapped != (pcommon.Map{}) && r.Unmapped.Len() > 0 {
		r.Unmapped.CopyTo(ev.PutEmptyMap("unmapped"))
	}
}

func putMetadata(m pcommon.Map, md *Metadata) {
	m.PutStr("version", md.Version)
	putStr(m, "uid", md.UID)
	putStr(m, "correlation_uid", md.CorrelationUID)
	putStr(m, "original_time", md.OriginalTime)
	putStr(m, "log_name", md.LogName)
	p := m.PutEmptyMap("product")
	putStr(p, "name", md.Product.Name)
	putStr(p, "vendor_name", md.Product.VendorName)
	putStr(p, "version", md.Product.Version)
	putStrs(m, "profiles", md.Profiles)
}

func putFindingInfo(m pcommon.Map, fi *FindingInfo) {
	m.PutStr("uid", fi.UID)
	putStr(m, "title", fi.Title)
	putStrs(m, "types", fi.Types)
	if fi.CreatedTime != nil {
		m.PutInt("created_time", *fi.CreatedTime)
	}
	if len(fi.RelatedEvents) > 0 {
		list := m.PutEmptySlice("related_events")
		for _, re := range fi.RelatedEvents {
			rm := list.AppendEmpty().SetEmptyMap()
			rm.PutStr("uid", re.UID)
			if re.TypeUID != nil {
				rm.PutInt("type_uid", *re.TypeUID)
			}
		}
	}
}

func putPolicy(m pcommon.Map, k string, p *Policy) {
	if p == nil {
		return
	}
	pm := m.PutEmptyMap(k)
	putStr(pm, "uid", p.UID)
	putStr(pm, "name", p.Name)
	putStr(pm, "version", p.Version)
	if p.IsApplied != nil {
		pm.PutBool("is_applied", *p.IsApplied)
	}
}

func putEntity(m pcommon.Map, k string, e *Entity) {
	if e == nil {
		return
	}
	em := m.PutEmptyMap(k)
	putStr(em, "type", e.Type)
	putStr(em, "uid", e.UID)
	putStr(em, "name", e.Name)
	putStr(em, "version", e.Version)
	putPolicy(em, "policy", e.Policy)
}

func putStr(m pcommon.Map, k string, v *string) {
	if v != nil {
		m.PutStr(k, *v)
	}
}

func putInt32(m pcommon.Map, k string, v *int32) {
	if v != nil {
		m.PutInt(k, int64(*v))
	}
}

func putStrs(m pcommon.Map, k string, values []string) {
	if len(values) == 0 {
		return
	}
	list := m.PutEmptySlice(k)
	list.EnsureCapacity(len(values))
	for _, v := range values {
		list.AppendEmpty().SetStr(v)
	}
}
