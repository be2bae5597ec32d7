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
	r.writeFields(mapSink{m})
}

// writeFields hands the canonical record's fields to s in the contract's
// order: the one place that says which fields a record has, of which type,
// and when an optional one is left out. CopyTo writes them into a map;
// matches compares a map with them.
func (r *Record) writeFields(s fieldSink) {
	s.str("schema_version", SchemaVersion)
	s.str("event_kind", r.Kind.String())
	s.str("event_id", r.EventID)
	s.str("created_at", r.CreatedAtString())
	s.str("correlation_id", r.CorrelationID)
	// A record without a correlation source gets a generated one (Namer).
	if r.CorrelationGenerated || r.CorrelationID == "" {
		s.boolean("correlation_generated", true)
	}
	optional(s, "trace_id", r.TraceID)
	optional(s, "span_id", r.SpanID)

	if r.Kind == KindAdmin {
		r.writeAdmin(s)
	} else {
		r.writeDecision(s)
	}

	if len(r.Extra) > 0 {
		s.free("extra", r.Extra)
	}
	optional(s, "schema_error", r.SchemaError)
}

func (r *Record) writeDecision(s fieldSink) {
	s.str("decision", r.Decision)
	optional(s, "decision_raw", r.DecisionRaw)
	s.str("effective_decision", r.EffectiveDecision)
	s.str("rollout_mode", r.RolloutMode)
	s.boolean("enforced", r.Enforced)
	s.str("reason_code", r.ReasonCode)
	s.str("policy_id", r.PolicyID)
	s.str("policy_version", r.PolicyVersion)
	optional(s, "policy_user", r.PolicyUser)
	optional(s, "api_key_id", r.APIKeyID)
	optional(s, "project_id", r.ProjectID)
	optional(s, "policy_target", r.PolicyTarget)
	optional(s, "model", r.Model)
	optional(s, "provider", r.Provider)
	optional(s, "stage", r.Stage)
	s.strs("triggered_categories", r.TriggeredCategories)
	s.strs("allowlist_hits", r.AllowlistHits)
	s.strs("denylist_hits", r.DenylistHits)
	if r.Classification != nil {
		s.strs("classification", r.Classification)
	}
	optional(s, "gateway", r.Gateway)
}

func (r *Record) writeAdmin(s fieldSink) {
	actor := s.object("actor")
	actor.str("id", r.Actor.ID)
	actor.str("type", r.Actor.Type)
	optional(actor, "ip", r.Actor.IP)
	actor.end()
	s.str("action", r.Action)
	res := s.object("resource")
	res.str("type", r.Resource.Type)
	res.str("id", r.Resource.ID)
	optional(res, "name", r.Resource.Name)
	res.end()
	s.str("outcome", r.Outcome)
	if r.Details != nil {
		s.free("details", r.Details)
	}
	optional(s, "policy_id", r.PolicyID)
	optional(s, "policy_version", r.PolicyVersion)
}

func optional(s fieldSink, k, v string) {
	if v != "" {
		s.str(k, v)
	}
}

// fieldSink receives a record's fields in order.
type fieldSink interface {
	str(k, v string)
	boolean(k string, v bool)
	strs(k string, v []string)
	object(k string) fieldSink // a nested object's fields follow, then end
	end()
	free(k string, raw map[string]any) // a free-form object (details, extra)
}

// mapSink writes the fields into a pdata map.
type mapSink struct{ m pcommon.Map }

func (s mapSink) str(k, v string)           { s.m.PutStr(k, v) }
func (s mapSink) boolean(k string, v bool)  { s.m.PutBool(k, v) }
func (s mapSink) strs(k string, v []string) { putStrings(s.m.PutEmptySlice(k), v) }
func (s mapSink) object(k string) fieldSink { return mapSink{s.m.PutEmptyMap(k)} }
func (s mapSink) end()                      {}
func (s mapSink) free(k string, raw map[string]any) {
	putSorted(s.m.PutEmptyMap(k), raw)
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
