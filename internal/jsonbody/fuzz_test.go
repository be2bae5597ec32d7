// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package jsonbody

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"testing"
	"unicode/utf8"

	"github.com/policyaudit/policyaudit/internal/testfixtures"
)

// FuzzSplit: any body, in either mode, never panics, and every record it
// yields is within the limits.
func FuzzSplit(f *testing.F) {
	for _, b := range testfixtures.Bodies(f, true) {
		f.Add(b, false)
		f.Add(b, true)
	}
	lim := Limits{MaxDepth: 8, MaxStringLength: 256, MaxRecords: 50}
	f.Fuzz(func(t *testing.T, body []byte, ndjson bool) {
		n := 0
		_ = Split(body, ndjson, lim, func(_ Position, obj Value) error {
			n++
			if obj.Kind != Object {
				t.Fatal("a record that is not an object")
			}
			return nil
		})
		if n > lim.MaxRecords {
			t.Fatalf("%d records over the limit of %d", n, lim.MaxRecords)
		}
	})
}

// FuzzArrayScan: for an array body, the scan that finds the elements agrees
// with encoding/json: a body json.Unmarshal takes as an array of objects
// within the limits is split into the same objects, in order, and a body it
// refuses is refused.
func FuzzArrayScan(f *testing.F) {
	for _, b := range testfixtures.Bodies(f, true) {
		f.Add(b)
	}
	f.Add([]byte(`[{"a":"]"} , {"b":[1,{"c":"\"]"}]}]`))
	f.Add([]byte(`[{},]`))
	lim := Limits{MaxDepth: 8, MaxStringLength: 256, MaxRecords: 50}
	f.Fuzz(func(t *testing.T, body []byte) {
		body = bytes.TrimSpace(body)
		if len(body) == 0 || body[0] != '[' || !utf8.Valid(body) || checkLimits(body, Limits{MaxDepth: lim.MaxDepth + 1, MaxStringLength: lim.MaxStringLength}) != nil {
			return
		}
		var want []map[string]any
		wantErr := json.Unmarshal(body, &want)
		var got []map[string]any
		err := Split(body, false, lim, func(_ Position, obj Value) error {
			got = append(got, obj.Interface().(map[string]any))
			return nil
		})
		hasNull := slices.ContainsFunc(want, func(m map[string]any) bool { return m == nil })
		if wantErr != nil || len(want) > lim.MaxRecords || hasNull {
			if err == nil {
				t.Fatalf("accepted what encoding/json refuses (%v): %q", wantErr, body)
			}
			return
		}
		if err != nil {
			t.Fatalf("refused what encoding/json takes: %v: %q", err, body)
		}
		if len(got) != len(want) {
			t.Fatalf("%d records, encoding/json finds %d: %q", len(got), len(want), body)
		}
		for i := range want {
			if !reflect.DeepEqual(normalizeNumbers(got[i]), normalizeNumbers(want[i])) {
				t.Fatalf("record %d differs: %v, encoding/json %v", i, got[i], want[i])
			}
		}
	})
}

// normalizeNumbers makes json.Number and float64 comparable.
func normalizeNumbers(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = normalizeNumbers(e)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = normalizeNumbers(e)
		}
		return out
	case json.Number:
		f, _ := t.Float64()
		return f
	}
	return v
}

// FuzzScanRecord: the one-pass decoder agrees with encoding/json (UseNumber)
// and the limits scan, its oracles: whatever it accepts they accept and
// decode to the same values; whatever they accept as one object within the
// limits, it accepts.
func FuzzScanRecord(f *testing.F) {
	for _, b := range testfixtures.Bodies(f, true) {
		for _, line := range bytes.Split(b, []byte("\n")) {
			f.Add(line)
		}
	}
	for _, s := range []string{`{"a":"\ud83d\ude00\ud800x\u00e9\/\b"}`, `{"a":-0.5e+3,"b":[],"c":{},"d":null,"a":true}`, `{"a":01}`, `{"a":"x"}}`, ` {"k":"v"} `, `{"a":"\u12"}`, "{\"a\":\"\x01\"}"} {
		f.Add([]byte(s))
	}
	lim := Limits{MaxDepth: 4, MaxStringLength: 16}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !utf8.Valid(b) {
			return
		}
		got, ok := scanRecord(b, lim)
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		var want any
		decErr := dec.Decode(&want)
		oracle := decErr == nil && json.Valid(b) && checkLimits(b, lim) == nil
		wantObj, isObj := want.(map[string]any)
		if ok {
			if !oracle || !isObj {
				t.Fatalf("accepted %q, which encoding/json (%v) or the limits refuse", b, decErr)
			}
			if !reflect.DeepEqual(got.Interface(), wantObj) {
				t.Fatalf("%q: decoded %#v, encoding/json %#v", b, got, wantObj)
			}
		} else if oracle && isObj {
			t.Fatalf("refused %q, one object within the limits", b)
		}
	})
}
