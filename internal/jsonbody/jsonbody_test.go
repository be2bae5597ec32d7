// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package jsonbody

import (
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func split(body string, ndjson bool, lim Limits) ([]string, error) {
	var got []string
	err := Split([]byte(body), ndjson, lim, func(pos Position, obj Value) error {
		k, _ := obj.Lookup("k")
		got = append(got, pos.String()+"="+k.Str)
		return nil
	})
	return got, err
}

func TestShapes(t *testing.T) {
	for body, want := range map[string][]string{
		`{"k":"a"}`:                          {"body=a"},
		"\xef\xbb\xbf {\n \"k\": \"a\"\n}\n": {"body=a"},
		`[{"k":"a"},{"k":"b"}]`:              {"index 0=a", "index 1=b"},
		"{\"k\":\"a\"}\n\n{\"k\":\"b\"}\r\n": {"line 1=a", "line 3=b"},
	} {
		got, err := split(body, false, DefaultLimits)
		require.NoError(t, err, body)
		assert.Equal(t, want, got, body)
	}
	got, err := split(`{"k":"a"}`, true, DefaultLimits)
	require.NoError(t, err)
	assert.Equal(t, []string{"line 1=a"}, got, "NDJSON content type reads lines")
}

func TestErrorsNameWhere(t *testing.T) {
	lim := Limits{MaxDepth: 4, MaxStringLength: 8, MaxRecords: 2}
	for _, tc := range []struct {
		body, want string
		tooLarge   bool
	}{
		{"", "body: empty body", false},
		{"{\"k\":\"a\"}\n{\"k\":", "line 2: malformed JSON: unexpected end of input (truncated record)", false},
		{`[{"k":"a"},3]`, "index 1: a record must be a JSON object", false},
		{`[{"k":"a"},{"k":]`, "body: malformed JSON array", false},
		{"{\"k\":\"a\"}\n\xff{}", "line 2: not valid UTF-8 (byte 10 of the body)", false},
		{`{"k":[[[[1]]]]}`, "body: nesting deeper than 4 levels at byte 8", false},
		{`{"k":"0123456789"}`, "body: a string at byte 5 is longer than 8 bytes", false},
		{`{"k":"a"} {"k":"b"} {"k":"c"}`, "line 1: malformed JSON: unexpected data after the record", false},
		{"{\"k\":\"a\"}\n{\"k\":\"b\"}\n{\"k\":\"c\"}", "body: 3 records in one request, more than the limit of 2", true},
		{`[{"k":"a"},{"k":"b"},{"k":"c"}]`, "body: more than 2 records in one request, the limit", true},
		{`[{"k":"a"},{"k":"b"}] x`, "body: malformed JSON array: data after its end", false},
		{`[{"k":"a"},,{"k":"b"}]`, "body: malformed JSON array: a missing element", false},
		{`[{"k":"a"}`, "body: malformed JSON array: unexpected end of input", false},
	} {
		_, err := split(tc.body, false, lim)
		var e *Error
		require.ErrorAs(t, err, &e, tc.body)
		assert.True(t, strings.HasPrefix(e.Error(), tc.want), "%q: %s", tc.body, e.Error())
		assert.Equal(t, tc.tooLarge, e.TooLarge, tc.body)
	}
}

// Brackets and braces inside strings are not nesting; escaped quotes do not
// end a string.
func TestLimitScanReadsStrings(t *testing.T) {
	got, err := split(`{"k":"[[[[[[{{{{\"]]"}`, false, Limits{MaxDepth: 2, MaxStringLength: 64})
	require.NoError(t, err)
	assert.Equal(t, []string{`body=[[[[[[{{{{"]]`}, got)
}

func TestDecodeObject(t *testing.T) {
	obj, err := DecodeObject([]byte(` {"k":"v","n":12345678901234567890} `), DefaultLimits)
	require.NoError(t, err)
	n, _ := obj.Lookup("n")
	assert.Equal(t, Value{Kind: Number, Str: "12345678901234567890"}, *n, "numbers keep their digits")
	_, err = DecodeObject([]byte(`"just text"`), DefaultLimits)
	assert.EqualError(t, err, "body: a record must be a JSON object")
}

// With no depth limit configured, the one-pass decoder still stops
// recursing at encoding/json's depth, and the record is refused as
// encoding/json refuses it: a deep body cannot grow the stack without bound.
func TestUnlimitedDepthStillStopsRecursing(t *testing.T) {
	const depth = 200_000
	body := `{"a":` + strings.Repeat("[", depth) + strings.Repeat("]", depth) + `}`
	_, ok := scanRecord([]byte(body), Limits{})
	assert.False(t, ok)
	_, err := DecodeObject([]byte(body), Limits{})
	assert.ErrorContains(t, err, "exceeded max depth")
}

// A decoded value does not share memory with the rest of the record: a
// small field kept for the batch must not keep a large one alive (a prompt
// the processor drops, a key it scrubs).
func TestDecodedStringsDoNotShareTheLine(t *testing.T) {
	prompt := strings.Repeat("p", 60_000)
	line := `{"policy_id":"p-1","prompt":"` + prompt + `"}`
	obj, ok := scanRecord([]byte(line), DefaultLimits)
	require.True(t, ok)
	idv, _ := obj.Lookup("policy_id")
	textv, _ := obj.Lookup("prompt")
	id, text := idv.Str, textv.Str
	gap := uintptr(unsafe.Pointer(unsafe.StringData(text))) - uintptr(unsafe.Pointer(unsafe.StringData(id)))
	assert.NotEqual(t, uintptr(strings.Index(line, prompt)-strings.Index(line, "p-1")), gap,
		"policy_id and prompt are slices of one copy of the line")
}

// A repeated key counts once, as its last value, as in encoding/json.
func TestRepeatedKeyLastWins(t *testing.T) {
	obj, err := DecodeObject([]byte(`{"k":"first","o":{"a":1},"k":"last"}`), DefaultLimits)
	require.NoError(t, err)
	k, ok := obj.Lookup("k")
	require.True(t, ok)
	assert.Equal(t, "last", k.Str)
	assert.Equal(t, map[string]any{"k": "last", "o": map[string]any{"a": int64(1)}}, obj.Plain())
}
