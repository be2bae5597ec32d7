// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package ocsf

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// DecodeBody reads a log body into row: each attribute into the field its
// json tag names, straight from the pcommon values (no JSON in between).
// An attribute EventRow lacks, or a value of another type than its field's,
// is refused with an error naming its path ("api.verb"): a body the schema
// cannot hold must not be written without what it cannot hold. Unmapped
// shares the body's map rather than copying it. A null is a left-out
// attribute.
func DecodeBody(body pcommon.Value, row *EventRow) error {
	*row = EventRow{}
	return decodeValue(body, reflect.ValueOf(row).Elem(), "")
}

var mapType = reflect.TypeFor[pcommon.Map]()

func decodeValue(v pcommon.Value, dst reflect.Value, path string) error {
	if v.Type() == pcommon.ValueTypeEmpty {
		return nil
	}
	t := dst.Type()
	if t == mapType {
		if v.Type() != pcommon.ValueTypeMap {
			return wrongType(path, v, "an object")
		}
		dst.Set(reflect.ValueOf(v.Map()))
		return nil
	}
	switch t.Kind() {
	case reflect.Pointer:
		p := reflect.New(t.Elem())
		if err := decodeValue(v, p.Elem(), path); err != nil {
			return err
		}
		dst.Set(p)
	case reflect.Struct:
		if v.Type() != pcommon.ValueTypeMap {
			return wrongType(path, v, "an object")
		}
		fields := fieldsOf(t)
		for k, e := range v.Map().All() {
			sub := join(path, k)
			i, ok := fields[k]
			if !ok {
				return fmt.Errorf("unknown field %q", sub)
			}
			if err := decodeValue(e, dst.Field(i), sub); err != nil {
				return err
			}
		}
	case reflect.Slice:
		if v.Type() != pcommon.ValueTypeSlice {
			return wrongType(path, v, "an array")
		}
		s := v.Slice()
		out := reflect.MakeSlice(t, s.Len(), s.Len())
		for i, e := range s.All() {
			if err := decodeValue(e, out.Index(i), path+"["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
		}
		dst.Set(out)
	case reflect.String:
		if v.Type() != pcommon.ValueTypeStr {
			return wrongType(path, v, "a string")
		}
		dst.SetString(v.Str())
	case reflect.Bool:
		if v.Type() != pcommon.ValueTypeBool {
			return wrongType(path, v, "a boolean")
		}
		dst.SetBool(v.Bool())
	case reflect.Int32, reflect.Int64:
		n, ok := integer(v)
		if !ok || dst.OverflowInt(n) {
			return wrongType(path, v, "an integer of "+strconv.Itoa(t.Bits())+" bits")
		}
		dst.SetInt(n)
	default:
		// Only a field of a type EventRow does not use gets here.
		return fmt.Errorf("%s: no decoder for %s", path, t)
	}
	return nil
}

// integer is an integer value; a double without a fraction is one too, as
// a JSON number is (a body parsed from JSON may hold one).
func integer(v pcommon.Value) (int64, bool) {
	switch v.Type() {
	case pcommon.ValueTypeInt:
		return v.Int(), true
	case pcommon.ValueTypeDouble:
		d := v.Double()
		if d == math.Trunc(d) && d >= math.MinInt64 && d < math.MaxInt64 {
			return int64(d), true
		}
	}
	return 0, false
}

func wrongType(path string, v pcommon.Value, want string) error {
	if path == "" {
		path = "the body"
	}
	return fmt.Errorf("%s: %s where OCSF has %s", path, strings.ToLower(v.Type().String()), want)
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

// fieldIndexes caches each struct type's field index by json name: the tags
// are the one place the names are written.
var fieldIndexes sync.Map // reflect.Type → map[string]int

func fieldsOf(t reflect.Type) map[string]int {
	if m, ok := fieldIndexes.Load(t); ok {
		return m.(map[string]int)
	}
	m := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			m[name] = i
		}
	}
	fieldIndexes.Store(t, m)
	return m
}
