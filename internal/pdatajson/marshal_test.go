package pdatajson

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/policyaudit/policyaudit/internal/testfixtures"
)

func decodeWithNumbers(t testing.TB, b []byte) (any, bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	return v, true
}

// AppendMarshalAny writes exactly what json.Marshal writes.
func TestAppendMarshalAnyIsMarshal(t *testing.T) {
	cases := []any{
		map[string]any{"b": "<a href=\"x\">&amp;</a>", "a": []any{1.5, 1e21, 1e-7, 0.000001, -0.0, 123456789.0, nil, true}},
		"tab\tnew\nline\r\u0001\u001f\u2028\u2029 \\ \" é 漢 \xff",
		map[string]any{"n": json.Number("12.50"), "i": int64(-3), "e": map[string]any{}, "l": []any{}},
	}
	for _, b := range testfixtures.Bodies(t, false) {
		if v, ok := decodeWithNumbers(t, b); ok {
			cases = append(cases, v)
		}
	}
	for _, v := range cases {
		want, err := json.Marshal(v)
		require.NoError(t, err)
		got, err := AppendMarshalAny(nil, v)
		require.NoError(t, err)
		assert.Equal(t, string(want), string(got))
	}
}

func FuzzAppendMarshalAny(f *testing.F) {
	for _, b := range testfixtures.Bodies(f, false) {
		f.Add(b)
	}
	f.Add([]byte(`{"x":"<>&\u2028","y":[1e-9,2.5e30,-0]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, ok := decodeWithNumbers(t, b)
		if !ok {
			return
		}
		want, err := json.Marshal(v)
		if err != nil {
			return
		}
		got, err := AppendMarshalAny(nil, v)
		if err != nil || !bytes.Equal(want, got) {
			t.Fatalf("AppendMarshalAny differs from json.Marshal:\n%s\n%s (%v)", want, got, err)
		}
	})
}
