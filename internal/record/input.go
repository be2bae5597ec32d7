// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package record

import (
	"strconv"

	"github.com/policyaudit/policyaudit/internal/jsonbody"
)

// input indexes one decoded input object by the registered names, and
// remembers which names a mapping consumed, so everything else can be kept
// under extra instead of being dropped. A dotted name ("policy.id") is
// looked up as a flat key first (the OpenTelemetry attribute style) and then
// one level down (nested objects).
type input struct {
	members []jsonbody.Member
	ids     []name          // each member's name, or noName
	last    [maxNames]int32 // 1 + the index of the last member with the name as its key
	used    [(maxNames + 63) / 64]uint64
}

// index makes in the index of an object's members.
func (in *input) index(members []jsonbody.Member) {
	*in = input{members: members, ids: make([]name, len(members))}
	for i := range members {
		id, ok := nameIDs[members[i].Key]
		if !ok {
			id = noName
		} else {
			in.last[id] = int32(i) + 1
		}
		in.ids[i] = id
	}
}

func (in *input) markUsed(id name) { in.used[id/64] |= 1 << (id % 64) }

// unmark gives a consumed name back: it stays under extra.
func (in *input) unmark(id name) { in.used[id/64] &^= 1 << (id % 64) }

func (in *input) isUsed(id name) bool { return id != noName && in.used[id/64]&(1<<(id%64)) != 0 }

// present reports whether the object has the key (null included).
func (in *input) present(id name) bool { return in.last[id] != 0 }

// flat is the member whose key is the name, null included.
func (in *input) flat(id name) (*jsonbody.Value, bool) {
	if i := in.last[id]; i != 0 {
		return &in.members[i-1].Value, true
	}
	return nil, false
}

// lookup returns the value of a name without consuming it. Null counts as
// absent.
func (in *input) lookup(id name) (*jsonbody.Value, bool) {
	if v, ok := in.flat(id); ok && v.Kind != jsonbody.Null {
		return v, true
	}
	if parentOf[id] == noName {
		return nil, false
	}
	obj, ok := in.flat(parentOf[id])
	if !ok || obj.Kind != jsonbody.Object {
		return nil, false
	}
	if v, ok := obj.Lookup(childOf[id]); ok && v.Kind != jsonbody.Null {
		return v, true
	}
	return nil, false
}

// first returns the value of the first present name, consuming it.
func (in *input) first(ids []name) (*jsonbody.Value, name, bool) {
	for _, id := range ids {
		if v, ok := in.lookup(id); ok {
			in.markUsed(id)
			return v, id, true
		}
	}
	return nil, noName, false
}

// firstString is first with the value coerced to a string. Numbers become their
// decimal text (a policy version of 7 is "7"); other types are an error.
func (in *input) firstString(field string, ids []name) (string, error) {
	v, id, ok := in.first(ids)
	if !ok {
		return "", nil
	}
	s, ok := valueString(v)
	if !ok {
		return "", fieldErr(field, ReasonInvalidType, "%q must be a string, got %s", nameTexts[id], valueTypeName(v))
	}
	return s, nil
}

// remaining returns the input keys no mapping consumed, with JSON numbers
// converted for pdata. A nested object some of whose keys were consumed keeps
// only the rest; if nothing is left of it, it is omitted. Where a key
// repeats, the last one counts, as everywhere else.
func (in *input) remaining() map[string]any {
	var extra map[string]any
	for i := range in.members {
		m, id := &in.members[i], in.ids[i]
		if in.isUsed(id) {
			continue
		}
		if extra == nil {
			extra = make(map[string]any)
		}
		if m.Value.Kind != jsonbody.Object || id == noName || !in.anyChildUsed(id) {
			extra[m.Key] = m.Value.Plain()
			continue
		}
		rest := make(map[string]any)
		for _, c := range m.Value.Items {
			if cid, ok := nameIDs[m.Key+"."+c.Key]; !ok || !in.isUsed(cid) {
				rest[c.Key] = c.Value.Plain()
			}
		}
		if len(rest) > 0 {
			extra[m.Key] = rest
		} else {
			delete(extra, m.Key) // an earlier member of the same key does not count
		}
	}
	if len(extra) == 0 {
		return nil
	}
	return extra
}

func (in *input) anyChildUsed(parent name) bool {
	for id, p := range parentOf {
		if p == parent && in.isUsed(name(id)) {
			return true
		}
	}
	return false
}

// ValueString renders a string or a number as text, as ScalarString does
// the same value decoded into a Go value; false for any other value (nil
// included).
func ValueString(v *jsonbody.Value) (string, bool) {
	if v == nil {
		return "", false
	}
	return valueString(v)
}

// valueString renders strings and numbers as strings.
func valueString(v *jsonbody.Value) (string, bool) {
	switch v.Kind {
	case jsonbody.String, jsonbody.Number:
		return v.Str, true
	case jsonbody.Float:
		f, _ := strconv.ParseFloat(v.Str, 64)
		return strconv.FormatFloat(f, 'f', -1, 64), true
	case jsonbody.Int:
		return v.Str, true
	}
	return "", false
}

// valueList accepts a list of strings (numbers are rendered), a single
// string, or null. Anything else is a type error on field.
func valueList(field string, v *jsonbody.Value) ([]string, error) {
	if v == nil {
		return []string{}, nil
	}
	switch v.Kind {
	case jsonbody.Null:
		return []string{}, nil
	case jsonbody.String:
		return []string{v.Str}, nil
	case jsonbody.Array:
		out := make([]string, 0, len(v.Items))
		for i := range v.Items {
			s, ok := valueString(&v.Items[i].Value)
			if !ok {
				return nil, fieldErr(field, ReasonInvalidType, "element %d must be a string, got %s", i, valueTypeName(&v.Items[i].Value))
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, fieldErr(field, ReasonInvalidType, "must be a list of strings, got %s", valueTypeName(v))
}

// ValueTypeName names a value's type, as errors say it (and as TypeName
// names the same value decoded into a Go value).
func ValueTypeName(v *jsonbody.Value) string { return valueTypeName(v) }

func valueTypeName(v *jsonbody.Value) string {
	switch v.Kind {
	case jsonbody.Null:
		return "null"
	case jsonbody.String:
		return "a string"
	case jsonbody.Bool:
		return "a boolean"
	case jsonbody.Number, jsonbody.Float, jsonbody.Int:
		return "a number"
	case jsonbody.Object:
		return "an object"
	case jsonbody.Array:
		return "a list"
	}
	return "an unsupported value"
}
