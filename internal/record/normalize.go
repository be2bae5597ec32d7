// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package record

import (
	"time"

	"github.com/policyaudit/policyaudit/internal/jsonbody"
)

// Hints carry what the transport knows about a record besides its content.
type Hints struct {
	// Kind is set when the transport fixes the kind (the receiver's
	// /v1/decisions and /v1/audit endpoints); KindUnknown infers it.
	Kind Kind
	// EventName is the log record's event name, used to infer the kind.
	EventName string
	// TraceID and SpanID are the log record's own trace context (hex), used
	// when the content carries none.
	TraceID string
	SpanID  string
	// Timestamp is the log record's timestamp, used when the content has no
	// created_at.
	Timestamp time.Time
}

// Normalize maps one decoded input object (as encoding/json, or pcommon's
// AsRaw, gives it) to a canonical record.
func Normalize(raw map[string]any, h Hints) (*Record, error) {
	return NormalizeValue(jsonbody.FromAny(raw), h)
}

// NormalizeValue maps one decoded input object to a canonical record.
//
// It always returns a record filled as far as the input allows, and the first
// validation error, if any: the receiver refuses the request on an error, the
// processor passes the record on flagged with it, or drops it.
func NormalizeValue(obj jsonbody.Value, h Hints) (*Record, error) {
	n := normalizer{hints: h}
	n.in.index(obj.Items)
	kind, err := n.inferKind()
	if err != nil {
		return &Record{Kind: KindDecision}, err
	}
	if kind == KindAdmin {
		return n.admin()
	}
	return n.decision()
}

// inferKind decides the event kind: the transport's, an explicit event_kind,
// the log record's event name, or the fields only admin events have;
// otherwise a policy decision. (An OPA decision-log event is recognised
// before, by its dialect.)
func (n *normalizer) inferKind() (Kind, error) {
	h := n.hints
	if ek, ok := n.in.lookup(inEventKind[0]); ok {
		switch {
		case ek.Kind == jsonbody.String && ek.Str == EventKindDecision:
			if h.Kind == KindAdmin {
				return 0, fieldErr("event_kind", ReasonUnknownKind, "%q posted as an admin audit event", ek.Str)
			}
			return KindDecision, nil
		case ek.Kind == jsonbody.String && ek.Str == EventKindAdmin:
			if h.Kind == KindDecision {
				return 0, fieldErr("event_kind", ReasonUnknownKind, "%q posted as a policy decision", ek.Str)
			}
			return KindAdmin, nil
		default:
			return 0, fieldErr("event_kind", ReasonUnknownKind, "unknown event kind %v", ek.Interface())
		}
	}
	if h.Kind != KindUnknown {
		return h.Kind, nil
	}
	switch h.EventName {
	case EventNameAdmin:
		return KindAdmin, nil
	case EventNameDecision:
		return KindDecision, nil
	}
	for _, id := range inAdminShapedFields {
		if n.in.present(id) {
			return KindAdmin, nil
		}
	}
	return KindDecision, nil
}

// HasEventKind reports whether obj names its event kind (a non-null
// event_kind): such an object is the contract's own, in no other dialect.
func HasEventKind(obj jsonbody.Value) bool {
	v, ok := obj.Lookup(FieldEventKind)
	return ok && v.Kind != jsonbody.Null
}

// normalizer holds the state of one record's normalisation. err keeps the
// first validation error; later fields are still filled in.
type normalizer struct {
	in    input
	hints Hints
	err   error
	// nested holds what was left of nested objects (actor, resource) after
	// their known keys were mapped; it is kept under extra by their name.
	nested map[string]any
}

func (n *normalizer) keepExtra(key string, rest map[string]any) {
	if len(rest) == 0 {
		return
	}
	if n.nested == nil {
		n.nested = make(map[string]any)
	}
	n.nested[key] = rest
}

func (n *normalizer) fail(err error) {
	if n.err == nil && err != nil {
		n.err = err
	}
}

func (n *normalizer) str(field string, ids []name) string {
	s, err := n.in.firstString(field, ids)
	n.fail(err)
	return s
}

// common fills the fields both kinds share.
func (n *normalizer) common(r *Record) {
	if v, _, ok := n.in.first(inSchemaVersion); ok {
		if s, _ := valueString(v); s != SchemaVersion {
			n.fail(fieldErr("schema_version", ReasonInvalidValue, "unsupported schema version %v", v.Interface()))
		}
	}
	n.in.first(inEventKind)

	// Without one in the input, event_id (and a correlation_id the input
	// lacks) stay empty here: the policydecision processor derives them
	// from the canonical record (Namer), keyed when it has a key.
	r.EventID = n.str("event_id", inEventID)

	if v, id, ok := n.in.first(inCreatedAt); ok {
		t, ok := valueTimestamp(v)
		if !ok {
			n.fail(fieldErr("created_at", ReasonInvalidTime, "%q is not an RFC 3339 time or an epoch number: %v", nameTexts[id], v.Interface()))
		}
		r.CreatedAt = t
	} else if !n.hints.Timestamp.IsZero() {
		r.CreatedAt = n.hints.Timestamp.UTC().Truncate(time.Millisecond)
	} else {
		n.fail(fieldErr("created_at", ReasonMissingField, "missing (accepted: created_at, timestamp, time, ts)"))
	}

	n.traceAndCorrelation(r)
}

// traceAndCorrelation sets the W3C trace context (trace_id + span_id, both
// valid hex, else traceparent, else a valid trace_id alone, else the log
// record's own) and the
// correlation ID (the first of correlation_id, request_id, x_request_id, a
// valid hex trace_id, the trace context's trace ID; else left for the Namer,
// which derives it and flags it as generated). An invalid trace_id or
// span_id is not used: it stays under extra.
func (n *normalizer) traceAndCorrelation(r *Record) {
	traceID, spanID := n.hexField(inTraceID[0], 32), n.hexField(inSpanID[0], 16)
	switch {
	case traceID != "" && spanID != "":
		r.TraceID, r.SpanID = traceID, spanID
		n.in.markUsed(inTraceID[0])
		n.in.markUsed(inSpanID[0])
	default:
		if v, ok := n.in.lookup(inTraceparent[0]); ok && v.Kind == jsonbody.String {
			if tc, ok := parseTraceparent(v.Str); ok {
				r.TraceID, r.SpanID = tc.TraceID, tc.SpanID
				n.in.markUsed(inTraceparent[0])
			}
		}
	}
	if r.TraceID == "" && traceID != "" {
		// A trace ID without its span (as a log record's own may be).
		r.TraceID = traceID
		n.in.markUsed(inTraceID[0])
	}
	if r.TraceID == "" && isHexID(n.hints.TraceID, 32) {
		r.TraceID = n.hints.TraceID
		if isHexID(n.hints.SpanID, 16) {
			r.SpanID = n.hints.SpanID
		}
	}

	r.CorrelationID = n.str("correlation_id", inCorrelationID)
	if r.CorrelationID == "" && traceID != "" {
		r.CorrelationID = traceID
		n.in.markUsed(inTraceID[0])
	}
	if r.CorrelationID == "" {
		r.CorrelationID = r.TraceID
	}
	if g, _, ok := n.in.first(inCorrGenerated); ok && g.Kind == jsonbody.Bool && g.Bool && r.CorrelationID != "" {
		r.CorrelationGenerated = true
	}
}

// hexField is the named field when it is a string of n hex digits (not all
// zero), lower-cased; else "" (and the field stays unused).
func (n *normalizer) hexField(id name, digits int) string {
	v, ok := n.in.lookup(id)
	if !ok {
		return ""
	}
	s, _ := valueString(v)
	if id := toLowerASCII(s); isHexID(id, digits) {
		return id
	}
	return ""
}

// extra collects the unconsumed input, merged into an input "extra" object
// (which is where a canonical record keeps them).
func (n *normalizer) extra() map[string]any {
	var extra map[string]any
	if obj, ok := n.in.flat(inExtra[0]); ok && obj.Kind == jsonbody.Object {
		n.in.markUsed(inExtra[0])
		extra = obj.Plain().(map[string]any)
	}
	for k, v := range n.nested {
		if extra == nil {
			extra = make(map[string]any)
		}
		extra[k] = v
	}
	for k, v := range n.in.remaining() {
		if extra == nil {
			extra = make(map[string]any)
		}
		extra[k] = v
	}
	return extra
}

func toLowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
