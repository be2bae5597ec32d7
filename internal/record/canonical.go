// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package record

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// ReadCanonical reads back a canonical record and accepts it only when it is
// exactly what CopyTo writes for a record Normalize could have produced:
// every field of its type, in its value set and form, and nothing else. Any
// other map (a body a transform changed, a top-level prompt, an unknown
// verdict, a flagged record) is refused, and the caller normalises it like
// any input. It trusts nothing about where the map came from; it is the
// processor's fast path because it reads typed values instead of decoding
// the body into map[string]any.
func ReadCanonical(m pcommon.Map) (*Record, error) {
	r, err := ReadHeader(m)
	if err != nil {
		return nil, err
	}
	h := header{m: m}
	if r.Kind == KindAdmin {
		readAdmin(&h, r)
	} else {
		readDecision(&h, r)
	}
	if v, ok := m.Get(FieldExtra); ok {
		if v.Type() != pcommon.ValueTypeMap {
			return nil, errors.New("extra: not an object")
		}
		r.Extra = v.Map().AsRaw()
	}
	if h.err != nil {
		return nil, h.err
	}
	if err := r.check(); err != nil {
		return nil, err
	}
	if !r.matches(m) {
		// Not in CopyTo's order (a processor in between may rebuild maps):
		// the same fields in another order are still the same record.
		again := pcommon.NewMap()
		r.CopyTo(again)
		if !again.Equal(m) {
			return nil, errors.New("not in the canonical form: a field was added, changed in type, or left out")
		}
	}
	return r, nil
}

// matches reports whether m holds exactly the fields writeFields gives, in
// its order, with their types and values: what comparing m with a fresh
// CopyTo says for a map in CopyTo's order, without building one.
func (r *Record) matches(m pcommon.Map) bool {
	c := matchers.Get().(*matchSink)
	c.reset(m, nil)
	r.writeFields(c)
	c.end()
	ok := c.ok
	clear(c.entries) // no reference to m kept in the pool
	matchers.Put(c)
	return ok
}

var matchers = sync.Pool{New: func() any { return new(matchSink) }}

// matchSink compares the fields it is given with a map's entries in order.
type matchSink struct {
	entries []mapEntry
	next    int
	ok      bool
	parent  *matchSink // of a nested object: told when it does not match
}

type mapEntry struct {
	key   string
	value pcommon.Value
}

func (c *matchSink) reset(m pcommon.Map, parent *matchSink) {
	c.entries, c.next, c.ok, c.parent = c.entries[:0], 0, true, parent
	for k, v := range m.All() {
		c.entries = append(c.entries, mapEntry{k, v})
	}
}

// take returns the next entry if it is k of type t.
func (c *matchSink) take(k string, t pcommon.ValueType) (pcommon.Value, bool) {
	if !c.ok || c.next >= len(c.entries) || c.entries[c.next].key != k || c.entries[c.next].value.Type() != t {
		c.ok = false
		return pcommon.Value{}, false
	}
	c.next++
	return c.entries[c.next-1].value, true
}

func (c *matchSink) str(k, v string) {
	if got, ok := c.take(k, pcommon.ValueTypeStr); ok && got.Str() != v {
		c.ok = false
	}
}

func (c *matchSink) time(k string, v time.Time) {
	var buf [len(TimestampLayout)]byte
	if got, ok := c.take(k, pcommon.ValueTypeStr); ok && got.Str() != string(AppendTimestamp(buf[:0], v)) {
		c.ok = false
	}
}

func (c *matchSink) boolean(k string, v bool) {
	if got, ok := c.take(k, pcommon.ValueTypeBool); ok && got.Bool() != v {
		c.ok = false
	}
}

func (c *matchSink) strs(k string, v []string) {
	got, ok := c.take(k, pcommon.ValueTypeSlice)
	if !ok {
		return
	}
	s := got.Slice()
	if s.Len() != len(v) {
		c.ok = false
		return
	}
	for i, want := range v {
		if e := s.At(i); e.Type() != pcommon.ValueTypeStr || e.Str() != want {
			c.ok = false
			return
		}
	}
}

func (c *matchSink) object(k string) fieldSink {
	nested := new(matchSink)
	if got, ok := c.take(k, pcommon.ValueTypeMap); ok {
		nested.reset(got.Map(), c)
	} else {
		nested.ok = false
	}
	return nested
}

func (c *matchSink) end() {
	if c.next != len(c.entries) {
		c.ok = false
	}
	if c.parent != nil && !c.ok {
		c.parent.ok = false
	}
}

func (c *matchSink) free(k string, raw map[string]any) {
	got, ok := c.take(k, pcommon.ValueTypeMap)
	if !ok {
		return
	}
	want := pcommon.NewMap()
	putSorted(want, raw)
	if !want.Equal(got.Map()) {
		c.ok = false
	}
}

func readDecision(h *header, r *Record) {
	r.DecisionRaw, r.ReasonCode = h.str(FieldDecisionRaw), h.str(FieldReasonCode)
	r.PolicyUser, r.APIKeyID, r.ProjectID = h.str(FieldPolicyUser), h.str(FieldAPIKeyID), h.str(FieldProjectID)
	r.PolicyTarget, r.Model, r.Provider = h.str(FieldPolicyTarget), h.str(FieldModel), h.str(FieldProvider)
	r.Stage, r.Gateway = h.str(FieldStage), h.str(FieldGateway)
	r.TriggeredCategories = h.strings(FieldTriggeredCategories)
	r.AllowlistHits = h.strings(FieldAllowlistHits)
	r.DenylistHits = h.strings(FieldDenylistHits)
	if _, ok := h.m.Get(FieldClassification); ok {
		r.Classification = h.strings(FieldClassification)
	}
	if v, ok := h.m.Get(FieldUsage); ok {
		if v.Type() != pcommon.ValueTypeMap {
			h.fail(errors.New("usage: not an object"))
			return
		}
		r.Usage = v.Map().AsRaw()
		h.fail(checkUsage(r.Usage))
	}
}

func readAdmin(h *header, r *Record) {
	actor, res := h.object(FieldActor), h.object(FieldResource)
	r.Actor = Actor{ID: actor.str(SubfieldID), Type: actor.str(SubfieldType), IP: actor.str(SubfieldIP)}
	r.Resource = Resource{Type: res.str(SubfieldType), ID: res.str(SubfieldID), Name: res.str(SubfieldName)}
	h.fail(actor.err)
	h.fail(res.err)
	if v, ok := h.m.Get(FieldDetails); ok {
		if v.Type() != pcommon.ValueTypeMap {
			h.fail(errors.New("details: not an object"))
			return
		}
		r.Details = v.Map().AsRaw()
	}
}

// check holds the rules Normalize applies, for a record read back: a value
// Normalize would have mapped, defaulted or refused is not canonical.
func (r *Record) check() error {
	if r.SchemaError != "" {
		return errors.New("schema_error: a flagged record is normalised again")
	}
	if r.TraceID != "" && !isHexID(r.TraceID, 32) || r.SpanID != "" && (r.TraceID == "" || !isHexID(r.SpanID, 16)) {
		return errors.New("trace_id, span_id: not lower-case hex IDs")
	}
	if r.Kind == KindAdmin {
		return r.checkAdmin()
	}
	switch {
	case !isDecision(r.Decision) || !isDecision(r.EffectiveDecision):
		return fmt.Errorf("decision %q, effective_decision %q: not canonical decisions", r.Decision, r.EffectiveDecision)
	case r.DecisionRaw == r.Decision:
		return errors.New("decision_raw: the same as decision")
	case rolloutModes[r.RolloutMode] != r.RolloutMode:
		return fmt.Errorf("rollout_mode %q: not canonical", r.RolloutMode)
	case r.ReasonCode == "" || UpperSnake(r.ReasonCode) != r.ReasonCode:
		return fmt.Errorf("reason_code %q: not upper snake case", r.ReasonCode)
	case r.PolicyVersion == "":
		return errors.New("policy_version: empty")
	case r.Stage != "" && stages[r.Stage] != r.Stage:
		return fmt.Errorf("stage %q: not canonical", r.Stage)
	}
	return nil
}

func (r *Record) checkAdmin() error {
	switch {
	case r.Actor.ID == "" || !actorTypes[r.Actor.Type]:
		return errors.New("actor: an id and a canonical type are required")
	case !actionPattern.MatchString(r.Action):
		return fmt.Errorf("action %q: not <resource>.<verb>", r.Action)
	case r.Resource.ID == "" || r.Resource.Type == "" || strings.ToLower(r.Resource.Type) != r.Resource.Type:
		return errors.New("resource: an id and a lower-case type are required")
	case outcomes[r.Outcome] != r.Outcome:
		return fmt.Errorf("outcome %q: not canonical", r.Outcome)
	case r.Resource.Type == "policy" && r.PolicyID == "":
		return errors.New("policy_id: required for a policy resource")
	case r.PolicyID != "" && r.PolicyVersion == "":
		return errors.New("policy_version: required with policy_id")
	}
	return nil
}

func isDecision(d string) bool {
	v, ok := verdicts[d]
	return ok && v == d
}

func (h *header) fail(err error) {
	if h.err == nil && err != nil {
		h.err = err
	}
}

// strings is the list of strings at key; a missing list is empty.
func (h *header) strings(key string) []string {
	v, ok := h.m.Get(key)
	if !ok {
		return []string{}
	}
	if v.Type() != pcommon.ValueTypeSlice {
		h.fail(fmt.Errorf("%s: not a list", key))
		return nil
	}
	s := v.Slice()
	out := make([]string, s.Len())
	for i := range out {
		e := s.At(i)
		if e.Type() != pcommon.ValueTypeStr {
			h.fail(fmt.Errorf("%s: not a list of strings", key))
			return nil
		}
		out[i] = e.Str()
	}
	return out
}

// object is the map at key, read with the same type checks.
func (h *header) object(key string) *header {
	v, ok := h.m.Get(key)
	if !ok || v.Type() != pcommon.ValueTypeMap {
		h.fail(fmt.Errorf("%s: missing or not an object", key))
		return &header{m: pcommon.NewMap()}
	}
	return &header{m: v.Map()}
}
