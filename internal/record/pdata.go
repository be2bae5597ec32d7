package record

import (
	"encoding/hex"
	"slices"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// SetLogRecordFields sets what section 3 of the contract derives from the
// record on its log record: event name, timestamp (created_at) and the W3C
// trace context. The body is the caller's: it depends on the layout.
func (r *Record) SetLogRecordFields(lr plog.LogRecord) {
	lr.SetEventName(r.Kind.EventName())
	lr.SetTimestamp(pcommon.NewTimestampFromTime(r.CreatedAt))
	if r.TraceID != "" {
		var tid pcommon.TraceID
		if _, err := hex.Decode(tid[:], []byte(r.TraceID)); err == nil {
			lr.SetTraceID(tid)
		}
		if r.SpanID != "" {
			var sid pcommon.SpanID
			if _, err := hex.Decode(sid[:], []byte(r.SpanID)); err == nil {
				lr.SetSpanID(sid)
			}
		}
	}
}

// CopyTo writes r into m as the canonical record, fields in the contract's
// order (pdata maps keep insertion order, so JSON output follows it).
// Optional fields are written only when set.
func (r *Record) CopyTo(m pcommon.Map) {
	m.Clear()
	m.EnsureCapacity(32)
	m.PutStr("schema_version", SchemaVersion)
	m.PutStr("event_kind", r.Kind.String())
	m.PutStr("event_id", r.EventID)
	m.PutStr("created_at", r.CreatedAtString())
	m.PutStr("correlation_id", r.CorrelationID)
	// A record without a correlation source gets a generated one (Namer).
	if r.CorrelationGenerated || r.CorrelationID == "" {
		m.PutBool("correlation_generated", true)
	}
	putOptional(m, "trace_id", r.TraceID)
	putOptional(m, "span_id", r.SpanID)

	if r.Kind == KindAdmin {
		r.copyAdmin(m)
	} else {
		r.copyDecision(m)
	}

	if len(r.Extra) > 0 {
		putSorted(m.PutEmptyMap("extra"), r.Extra)
	}
	putOptional(m, "schema_error", r.SchemaError)
}

func (r *Record) copyDecision(m pcommon.Map) {
	m.PutStr("decision", r.Decision)
	putOptional(m, "decision_raw", r.DecisionRaw)
	m.PutStr("effective_decision", r.EffectiveDecision)
	m.PutStr("rollout_mode", r.RolloutMode)
	m.PutBool("enforced", r.Enforced)
	m.PutStr("reason_code", r.ReasonCode)
	m.PutStr("policy_id", r.PolicyID)
	m.PutStr("policy_version", r.PolicyVersion)
	putOptional(m, "policy_user", r.PolicyUser)
	putOptional(m, "api_key_id", r.APIKeyID)
	putOptional(m, "project_id", r.ProjectID)
	putOptional(m, "policy_target", r.PolicyTarget)
	putOptional(m, "model", r.Model)
	putOptional(m, "provider", r.Provider)
	putOptional(m, "stage", r.Stage)
	putStrings(m.PutEmptySlice("triggered_categories"), r.TriggeredCategories)
	putStrings(m.PutEmptySlice("allowlist_hits"), r.AllowlistHits)
	putStrings(m.PutEmptySlice("denylist_hits"), r.DenylistHits)
	if r.Classification != nil {
		putStrings(m.PutEmptySlice("classification"), r.Classification)
	}
	putOptional(m, "gateway", r.Gateway)
}

func (r *Record) copyAdmin(m pcommon.Map) {
	actor := m.PutEmptyMap("actor")
	actor.PutStr("id", r.Actor.ID)
	actor.PutStr("type", r.Actor.Type)
	putOptional(actor, "ip", r.Actor.IP)
	m.PutStr("action", r.Action)
	res := m.PutEmptyMap("resource")
	res.PutStr("type", r.Resource.Type)
	res.PutStr("id", r.Resource.ID)
	putOptional(res, "name", r.Resource.Name)
	m.PutStr("outcome", r.Outcome)
	if r.Details != nil {
		putSorted(m.PutEmptyMap("details"), r.Details)
	}
	putOptional(m, "policy_id", r.PolicyID)
	putOptional(m, "policy_version", r.PolicyVersion)
}

func putOptional(m pcommon.Map, k, v string) {
	if v != "" {
		m.PutStr(k, v)
	}
}

func putStrings(s pcommon.Slice, vals []string) {
	s.EnsureCapacity(len(vals))
	for _, v := range vals {
		s.AppendEmpty().SetStr(v)
	}
}

// putSorted copies a free-form object into m with its keys sorted at every
// level, so the same record always encodes to the same bytes (Go maps have no
// order; golden files, hash chains and de-duplication need one).
func putSorted(m pcommon.Map, raw map[string]any) {
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	m.EnsureCapacity(len(keys))
	for _, k := range keys {
		putValue(m.PutEmpty(k), raw[k])
	}
}

func putValue(v pcommon.Value, raw any) {
	switch t := raw.(type) {
	case map[string]any:
		putSorted(v.SetEmptyMap(), t)
	case []any:
		s := v.SetEmptySlice()
		s.EnsureCapacity(len(t))
		for _, e := range t {
			putValue(s.AppendEmpty(), e)
		}
	default:
		_ = v.FromRaw(t)
	}
}
