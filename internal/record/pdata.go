// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package record

import (
	"encoding/hex"
	"slices"
	"time"

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
// order: the one place that says which of a record's values goes into which
// field (fields.go describes the fields; TestWriteFieldsFollowsFields holds
// the two together). CopyTo writes them into a map;
// matches compares a map with them.
func (r *Record) writeFields(s fieldSink) {
	s.str(FieldSchemaVersion, SchemaVersion)
	s.str(FieldEventKind, r.Kind.String())
	s.str(FieldEventID, r.EventID)
	s.time(FieldCreatedAt, r.CreatedAt)
	s.str(FieldCorrelationID, r.CorrelationID)
	// A record without a correlation source gets a generated one (Namer).
	if r.CorrelationGenerated || r.CorrelationID == "" {
		s.boolean(FieldCorrelationGenerated, true)
	}
	optional(s, FieldTraceID, r.TraceID)
	optional(s, FieldSpanID, r.SpanID)

	if r.Kind == KindAdmin {
		r.writeAdmin(s)
	} else {
		r.writeDecision(s)
	}

	if len(r.Extra) > 0 {
		s.free(FieldExtra, r.Extra)
	}
	optional(s, FieldSchemaError, r.SchemaError)
}

func (r *Record) writeDecision(s fieldSink) {
	s.str(FieldDecision, r.Decision)
	optional(s, FieldDecisionRaw, r.DecisionRaw)
	s.str(FieldEffectiveDecision, r.EffectiveDecision)
	s.str(FieldRolloutMode, r.RolloutMode)
	s.boolean(FieldEnforced, r.Enforced)
	s.str(FieldReasonCode, r.ReasonCode)
	s.str(FieldPolicyID, r.PolicyID)
	s.str(FieldPolicyVersion, r.PolicyVersion)
	optional(s, FieldPolicyUser, r.PolicyUser)
	optional(s, FieldAPIKeyID, r.APIKeyID)
	optional(s, FieldProjectID, r.ProjectID)
	optional(s, FieldPolicyTarget, r.PolicyTarget)
	optional(s, FieldModel, r.Model)
	optional(s, FieldProvider, r.Provider)
	optional(s, FieldStage, r.Stage)
	s.strs(FieldTriggeredCategories, r.TriggeredCategories)
	s.strs(FieldAllowlistHits, r.AllowlistHits)
	s.strs(FieldDenylistHits, r.DenylistHits)
	if r.Classification != nil {
		s.strs(FieldClassification, r.Classification)
	}
	optional(s, FieldGateway, r.Gateway)
	if len(r.Usage) > 0 {
		s.free(FieldUsage, r.Usage)
	}
}

func (r *Record) writeAdmin(s fieldSink) {
	actor := s.object(FieldActor)
	actor.str(SubfieldID, r.Actor.ID)
	actor.str(SubfieldType, r.Actor.Type)
	optional(actor, SubfieldIP, r.Actor.IP)
	actor.end()
	s.str(FieldAction, r.Action)
	res := s.object(FieldResource)
	res.str(SubfieldType, r.Resource.Type)
	res.str(SubfieldID, r.Resource.ID)
	optional(res, SubfieldName, r.Resource.Name)
	res.end()
	s.str(FieldOutcome, r.Outcome)
	if r.Details != nil {
		s.free(FieldDetails, r.Details)
	}
	optional(s, FieldPolicyID, r.PolicyID)
	optional(s, FieldPolicyVersion, r.PolicyVersion)
}

func optional(s fieldSink, k, v string) {
	if v != "" {
		s.str(k, v)
	}
}

// fieldSink receives a record's fields in order.
type fieldSink interface {
	str(k, v string)
	time(k string, v time.Time) // in TimestampLayout
	boolean(k string, v bool)
	strs(k string, v []string)
	object(k string) fieldSink // a nested object's fields follow, then end
	end()
	free(k string, raw map[string]any) // a free-form object (details, extra)
}

// mapSink writes the fields into a pdata map.
type mapSink struct{ m pcommon.Map }

func (s mapSink) str(k, v string) { s.m.PutStr(k, v) }
func (s mapSink) time(k string, v time.Time) {
	var buf [len(TimestampLayout)]byte
	s.m.PutStr(k, string(AppendTimestamp(buf[:0], v)))
}
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
