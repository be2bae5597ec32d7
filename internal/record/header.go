// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

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
	if h.str(FieldSchemaVersion) != SchemaVersion {
		return nil, errors.New("schema_version: not " + SchemaVersion)
	}
	r := &Record{}
	switch h.str(FieldEventKind) {
	case EventKindDecision:
		r.Kind = KindDecision
	case EventKindAdmin:
		r.Kind = KindAdmin
	default:
		return nil, errors.New("event_kind: not a canonical kind")
	}
	// Empty until the Namer derives them.
	r.EventID = h.str(FieldEventID)
	r.CorrelationID = h.str(FieldCorrelationID)
	if t, err := time.Parse(TimestampLayout, h.required(FieldCreatedAt)); err == nil {
		r.CreatedAt = t
	} else if h.err == nil {
		h.err = fmt.Errorf("created_at: %w", err)
	}
	if v, ok := m.Get(FieldCorrelationGenerated); ok && r.CorrelationID != "" {
		r.CorrelationGenerated = v.Type() == pcommon.ValueTypeBool && v.Bool()
	}
	r.TraceID, r.SpanID = h.str(FieldTraceID), h.str(FieldSpanID)
	r.PolicyID, r.PolicyVersion = h.str(FieldPolicyID), h.str(FieldPolicyVersion)
	r.SchemaError = h.str(FieldSchemaError)
	if r.Kind == KindAdmin {
		r.Action, r.Outcome = h.required(FieldAction), h.required(FieldOutcome)
	} else {
		r.Decision = h.required(FieldDecision)
		r.EffectiveDecision = h.required(FieldEffectiveDecision)
		r.RolloutMode = h.required(FieldRolloutMode)
		if v, ok := m.Get(FieldEnforced); ok && v.Type() == pcommon.ValueTypeBool {
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
