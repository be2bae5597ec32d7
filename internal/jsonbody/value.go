// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package jsonbody

import (
	"encoding/json"
	"math"
	"strconv"
)

// Kind is the type of a Value.
type Kind uint8

const (
	Null Kind = iota
	Bool
	Number // a JSON number, kept as its literal text
	String
	Object
	Array
	Int   // an integer from a Go value (a pdata map's int), never from JSON text
	Float // a float from a Go value (a pdata map's double), never from JSON text
	Bytes // bytes from a Go value (a pdata map's bytes), in Str, never from JSON text
)

// Value is one decoded JSON value, typed: the scanner writes strings,
// numbers and the members of objects straight into it, with no interface
// boxing and no map per object. An object keeps its members in input
// order, duplicates included; where a key repeats, the last one is the
// value (as encoding/json decides), which Lookup and Interface honour.
// It is kept small (48 bytes): a record's members are one allocation.
type Value struct {
	Kind Kind
	Bool bool
	// Str is a String's text, a Number's literal, an Int's or a Float's
	// shortest decimal text (which parses back to the same value).
	Str string
	// Items are an Object's members, or an Array's elements (with no key).
	Items []Member
}

// Member is one key of an object and its value.
type Member struct {
	Key   string
	Value Value
}

// Lookup is the value of key in an object (the last, if it repeats).
func (v *Value) Lookup(key string) (*Value, bool) {
	if v.Kind != Object {
		return nil, false
	}
	for i := len(v.Items) - 1; i >= 0; i-- {
		if v.Items[i].Key == key {
			return &v.Items[i].Value, true
		}
	}
	return nil, false
}

// Interface is the value as encoding/json's Decoder with UseNumber gives
// it: map[string]any, []any, string, json.Number, bool or nil (Int and
// Float stay int64 and float64, Bytes []byte).
func (v *Value) Interface() any { return v.convert(scalarInterface) }

// Plain is the value as pdata stores it: a Number becomes int64 when it is
// an integer in range, else float64 when finite, else its text.
func (v *Value) Plain() any { return v.convert(scalarPlain) }

// convert builds maps (the last of a repeated key wins) and lists, and
// leaves the scalars to scalar.
func (v *Value) convert(scalar func(*Value) any) any {
	switch v.Kind {
	case Object:
		m := make(map[string]any, len(v.Items))
		for i := range v.Items {
			m[v.Items[i].Key] = v.Items[i].Value.convert(scalar)
		}
		return m
	case Array:
		a := make([]any, len(v.Items))
		for i := range v.Items {
			a[i] = v.Items[i].Value.convert(scalar)
		}
		return a
	}
	return scalar(v)
}

func scalarInterface(v *Value) any {
	switch v.Kind {
	case Bool:
		return v.Bool
	case Number:
		return json.Number(v.Str)
	case String:
		return v.Str
	case Int:
		i, _ := strconv.ParseInt(v.Str, 10, 64)
		return i
	case Float:
		f, _ := strconv.ParseFloat(v.Str, 64)
		return f
	case Bytes:
		return []byte(v.Str)
	}
	return nil
}

func scalarPlain(v *Value) any {
	if v.Kind != Number {
		return scalarInterface(v)
	}
	if i, err := strconv.ParseInt(v.Str, 10, 64); err == nil {
		return i
	}
	if f, err := strconv.ParseFloat(v.Str, 64); err == nil && !math.IsInf(f, 0) {
		return f
	}
	return v.Str
}

// FromAny is the Value of a decoded Go value (what encoding/json or
// pcommon's AsRaw give). Strings are shared, not copied. Values of other
// types become Null.
func FromAny(x any) Value {
	switch t := x.(type) {
	case string:
		return Value{Kind: String, Str: t}
	case bool:
		return Value{Kind: Bool, Bool: t}
	case json.Number:
		return Value{Kind: Number, Str: string(t)}
	case float64:
		return Value{Kind: Float, Str: strconv.FormatFloat(t, 'g', -1, 64)}
	case int64:
		return Value{Kind: Int, Str: strconv.FormatInt(t, 10)}
	case int:
		return Value{Kind: Int, Str: strconv.Itoa(t)}
	case map[string]any:
		v := Value{Kind: Object, Items: make([]Member, 0, len(t))}
		for k, e := range t {
			v.Items = append(v.Items, Member{Key: k, Value: FromAny(e)})
		}
		return v
	case []any:
		v := Value{Kind: Array, Items: make([]Member, len(t))}
		for i, e := range t {
			v.Items[i].Value = FromAny(e)
		}
		return v
	case []byte:
		return Value{Kind: Bytes, Str: string(t)}
	case []string:
		v := Value{Kind: Array, Items: make([]Member, len(t))}
		for i, e := range t {
			v.Items[i].Value = Value{Kind: String, Str: e}
		}
		return v
	}
	return Value{}
}
