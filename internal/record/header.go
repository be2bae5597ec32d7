package record

import (
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// ReadHeader reads back from a canonical record (as CopyTo wrote it) the
// fields a pipeline routes, indexes and partitions on: kind, IDs, time,
// trace context, decision, rollout, policy, admin action and outcome. It
// checks their presence and types, not the rest of the record; ReadCanonical
// checks the rest.
func ReadHeader(m pcommon.Map) (*Record, error) {
	h := header{m: m}
	if h.str("schema_version") != SchemaVersion {
		return nil, errors.New("schema_version: not " + SchemaVersion)
	}
	r := &Record{}
	switch h.str("event_kind") {
	case EventKindDecision:
		r.Kind = KindDecision
	case EventKindAdmin:
		r.Kind = KindAdmin
	default:
		return nil, errors.New("event_kind: not a canonical kind")
	}
	// Empty until the Namer derives them.
	r.EventID = h.str("event_id")
	r.CorrelationID = h.str("correlation_id")
	if t, err := time.Parse(TimestampLayout, h.required("created_at")); err == nil {
		r.CreatedAt = t
	} else if h.err == nil {
		h.err = fmt.Errorf("created_at: %w", err)
	}
	if v, ok := m.Get("correlation_generated"); ok && r.CorrelationID != "" {
		r.CorrelationGenerated = v.Type() == pcommon.ValueTypeBool && v.Bool()
	}
	r.TraceID, r.SpanID = h.str("trace_id"), h.str("span_id")
	r.PolicyID, r.PolicyVersion = h.str("policy_id"), h.str("policy_version")
	r.SchemaError = h.str("schema_error")
	if r.Kind == KindAdmin {
		r.Action, r.Outcome = h.required("action"), h.required("outcome")
	} else {
		r.Decision = h.required("decision")
		r.EffectiveDecision = h.required("effective_decision")
		r.RolloutMode = h.required("rollout_mode")
		if v, ok := m.Get("enforced"); ok && v.Type() == pcommon.ValueTypeBool {
			r.Enforced = v.Bool()
		} else if h.err == nil {
			h.err = errors.New("enforced: missing or not a boolean")
		}
		if r.PolicyID == "" && h.err == nil {
			h.err = errors.New("policy_id: missing")
		}
	}
	if h.err != nil {
		return nil, h.err
	}
	return r, nil
}

type header struct {
	m   pcommon.Map
	err error
}

// str is the string at key, or "" when absent; a value of another type is
// an error.
func (h *header) str(key string) string {
	v, ok := h.m.Get(key)
	if !ok {
		return ""
	}
	if v.Type() != pcommon.ValueTypeStr {
		if h.err == nil {
			h.err = fmt.Errorf("%s: not a string", key)
		}
		return ""
	}
	return v.Str()
}

func (h *header) required(key string) string {
	s := h.str(key)
	if s == "" && h.err == nil {
		h.err = fmt.Errorf("%s: missing", key)
	}
	return s
}
