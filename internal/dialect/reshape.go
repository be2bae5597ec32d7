// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package dialect

import (
	"sort"
	"strconv"
	"strings"

	"github.com/policyaudit/policyaudit/internal/jsonbody"
	"github.com/policyaudit/policyaudit/internal/record"
)

// Helpers of the dialects that reshape a gateway's payload into the flat
// dialect (the record contract's own field names) before normalising it.
// They read the payload as a jsonbody.Value the way a decoded
// map[string]any reads: where a key repeats, the last one is its value,
// and a key that holds null reads as one that is missing (Get, NonEmptyAt);
// Member tells the two apart where that matters.

// Object builds an object of the flat dialect, each key once: Set replaces
// the value of a key set before, as a map's assignment does.
type Object struct {
	items []jsonbody.Member
	index map[string]int // items by key, once they are too many to scan
}

// scanned is how many members an Object finds by scanning them.
const scanned = 16

func (o *Object) find(key string) int {
	if o.index != nil {
		if i, ok := o.index[key]; ok {
			return i
		}
		return -1
	}
	for i := range o.items {
		if o.items[i].Key == key {
			return i
		}
	}
	return -1
}

// Set sets key to v.
func (o *Object) Set(key string, v jsonbody.Value) {
	if i := o.find(key); i >= 0 {
		o.items[i].Value = v
		return
	}
	o.items = append(o.items, jsonbody.Member{Key: key, Value: v})
	switch {
	case o.index != nil:
		o.index[key] = len(o.items) - 1
	case len(o.items) > scanned:
		o.index = make(map[string]int, 2*len(o.items))
		for i := range o.items {
			o.index[o.items[i].Key] = i
		}
	}
}

// SetString sets key to the string s.
func (o *Object) SetString(key, s string) { o.Set(key, String(s)) }

// SetFirst sets key to the first value that is not nil, if any.
func (o *Object) SetFirst(key string, values ...*jsonbody.Value) {
	for _, v := range values {
		if v != nil {
			o.Set(key, *v)
			return
		}
	}
}

// SetMembers sets each member of obj, in order (where a key repeats, the
// last one stays); nothing unless obj is an object.
func (o *Object) SetMembers(obj *jsonbody.Value) {
	if obj == nil || obj.Kind != jsonbody.Object {
		return
	}
	for i := range obj.Items {
		o.Set(obj.Items[i].Key, obj.Items[i].Value)
	}
}

// Get is the value key is set to.
func (o *Object) Get(key string) (*jsonbody.Value, bool) {
	if i := o.find(key); i >= 0 {
		return &o.items[i].Value, true
	}
	return nil, false
}

// Has reports whether key is set (to null, too).
func (o *Object) Has(key string) bool { return o.find(key) >= 0 }

// Delete unsets key.
func (o *Object) Delete(key string) {
	i := o.find(key)
	if i < 0 {
		return
	}
	o.items = append(o.items[:i], o.items[i+1:]...)
	if o.index != nil {
		delete(o.index, key)
		for j := i; j < len(o.items); j++ {
			o.index[o.items[j].Key] = j
		}
	}
}

// Len is how many keys are set.
func (o *Object) Len() int { return len(o.items) }

// Value is the object built.
func (o *Object) Value() jsonbody.Value {
	return jsonbody.Value{Kind: jsonbody.Object, Items: o.items}
}

// String is the string s as a value.
func String(s string) jsonbody.Value { return jsonbody.Value{Kind: jsonbody.String, Str: s} }

// Number is a JSON number value.
func Number(f float64) jsonbody.Value {
	return jsonbody.Value{Kind: jsonbody.Number, Str: strconv.FormatFloat(f, 'f', -1, 64)}
}

// NumberOf is a JSON number's value, false for anything else.
func NumberOf(v *jsonbody.Value) (float64, bool) {
	if v == nil || v.Kind != jsonbody.Number {
		return 0, false
	}
	f, err := strconv.ParseFloat(v.Str, 64)
	return f, err == nil
}

// OrNull is *v, or null for nil (a key a map lacks).
func OrNull(v *jsonbody.Value) jsonbody.Value {
	if v == nil {
		return jsonbody.Value{}
	}
	return *v
}

// Member is the value of key in obj, null included; false when obj (nil
// or not an object) lacks it.
func Member(obj *jsonbody.Value, key string) (*jsonbody.Value, bool) {
	if obj == nil {
		return nil, false
	}
	return obj.Lookup(key)
}

// Get is the value of key in obj, nil when obj (nil or not an object)
// lacks it or holds null there.
func Get(obj *jsonbody.Value, key string) *jsonbody.Value {
	if v, ok := Member(obj, key); ok && v.Kind != jsonbody.Null {
		return v
	}
	return nil
}

// ObjectAt is the value of key in obj when it is an object, else nil.
func ObjectAt(obj *jsonbody.Value, key string) *jsonbody.Value {
	if v := Get(obj, key); v != nil && v.Kind == jsonbody.Object {
		return v
	}
	return nil
}

// NonEmptyAt is Get, with nil for an empty string too.
func NonEmptyAt(obj *jsonbody.Value, key string) *jsonbody.Value {
	if v := Get(obj, key); v != nil && (v.Kind != jsonbody.String || v.Str != "") {
		return v
	}
	return nil
}

// Text is a string or number as text, else "" (nil included).
func Text(v *jsonbody.Value) string {
	s, _ := record.ValueString(v)
	return s
}

// IsString reports whether v is the string s.
func IsString(v *jsonbody.Value, s string) bool {
	return v != nil && v.Kind == jsonbody.String && v.Str == s
}

// Same reports whether a and b are the same scalar, as Go's == on the
// decoded values says it (a float by its value). Where == would panic, two
// objects or lists are the same only when they are the one value (as a
// value set from another is, empty ones aside), and bytes by their content.
func Same(a, b *jsonbody.Value) bool {
	if a == nil || b == nil {
		return a == b
	}
	if a.Kind != b.Kind {
		return false
	}
	switch a.Kind {
	case jsonbody.Null:
		return true
	case jsonbody.Bool:
		return a.Bool == b.Bool
	case jsonbody.Float:
		x, _ := strconv.ParseFloat(a.Str, 64)
		y, _ := strconv.ParseFloat(b.Str, 64)
		return x == y
	case jsonbody.Object, jsonbody.Array:
		return len(a.Items) == len(b.Items) && (len(a.Items) == 0 || &a.Items[0] == &b.Items[0])
	}
	return a.Str == b.Str
}

// IsTrue reports whether v is the boolean true.
func IsTrue(v *jsonbody.Value) bool { return v != nil && v.Kind == jsonbody.Bool && v.Bool }

// Members are obj's members as a map holds them, each key once with its
// last value: obj.Items itself unless a key repeats; nil unless obj is an
// object.
func Members(obj *jsonbody.Value) []jsonbody.Member {
	if obj == nil || obj.Kind != jsonbody.Object {
		return nil
	}
	if items := obj.Items; len(items) <= scanned {
		unique := true
		for i := range items {
			for j := i + 1; j < len(items) && unique; j++ {
				unique = items[i].Key != items[j].Key
			}
		}
		if unique {
			return items
		}
	}
	var o Object
	o.SetMembers(obj)
	return o.items
}

// Keys are the keys of an object, each once, sorted.
func Keys(obj *jsonbody.Value) []string {
	members := Members(obj)
	keys := make([]string, len(members))
	for i := range members {
		keys[i] = members[i].Key
	}
	sort.Strings(keys)
	return keys
}

// NameList is a list of names, sorted, as a list value.
func NameList(names []string) jsonbody.Value {
	sort.Strings(names)
	list := jsonbody.Value{Kind: jsonbody.Array, Items: make([]jsonbody.Member, len(names))}
	for i, s := range names {
		list.Items[i].Value = String(s)
	}
	return list
}

// SplitNames is comma-separated reasons as one sorted list of names.
func SplitNames(texts ...string) jsonbody.Value {
	seen := map[string]bool{}
	var out []string
	for _, t := range texts {
		for _, p := range strings.Split(t, ",") {
			if p = strings.TrimSpace(p); p != "" && !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	return NameList(out)
}

// CategoryList is violation_categories as a list of names (an object's
// keys when given as scores by category); nil for nil.
func CategoryList(v *jsonbody.Value) *jsonbody.Value {
	if v != nil && v.Kind == jsonbody.Object {
		list := NameList(Keys(v))
		return &list
	}
	return v
}

// MaskedCount adds up masked_entity_count: a number, or counts by entity
// type (the last of a repeated type), from JSON text or from a pdata map (an
// OTLP body: Int or Double).
func MaskedCount(v *jsonbody.Value) float64 {
	if v == nil {
		return 0
	}
	switch v.Kind {
	case jsonbody.Number, jsonbody.Int, jsonbody.Float:
		f, _ := strconv.ParseFloat(v.Str, 64)
		return f
	case jsonbody.Object:
		total := 0.0
		for _, m := range Members(v) {
			total += MaskedCount(&m.Value)
		}
		return total
	}
	return 0
}
