package pdatajson

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// The canonical encoding is the byte string a hash chain signs. It is JSON
// with, at every level:
//   - object keys sorted by their UTF-8 bytes, each key once;
//   - no whitespace between tokens;
//   - strings as AppendString writes them: `"` and `\` escaped, control
//     characters as \n \r \t or \u00XX, U+2028 and U+2029 as \u2028 and
//     \u2029, invalid UTF-8 as \ufffd, everything else as literal UTF-8;
//   - integers (JSON numbers without fraction or exponent that fit in 64
//     bits) in decimal; other numbers as the shortest decimal that round-trips
//     a float64, without exponent for magnitudes in [1e-6, 1e21), else with
//     one (1e+21); NaN and infinities as null;
//   - true, false, null.
// Two encoders produce it, from pdata (what an exporter holds) and from
// decoded JSON (what a verifier reads back); they agree byte for byte.

// AppendCanonicalValue appends v in the canonical encoding.
func AppendCanonicalValue(dst []byte, v pcommon.Value) []byte {
	switch v.Type() {
	case pcommon.ValueTypeMap:
		return AppendCanonicalMap(dst, v.Map())
	case pcommon.ValueTypeSlice:
		s := v.Slice()
		dst = append(dst, '[')
		for i := 0; i < s.Len(); i++ {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = AppendCanonicalValue(dst, s.At(i))
		}
		return append(dst, ']')
	default:
		return AppendValue(dst, v)
	}
}

// AppendCanonicalMap appends m in the canonical encoding.
func AppendCanonicalMap(dst []byte, m pcommon.Map) []byte {
	keys := make([]string, 0, m.Len())
	m.Range(func(k string, _ pcommon.Value) bool {
		keys = append(keys, k)
		return true
	})
	slices.Sort(keys)
	dst = append(dst, '{')
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendString(dst, k)
		dst = append(dst, ':')
		e, _ := m.Get(k)
		dst = AppendCanonicalValue(dst, e)
	}
	return append(dst, '}')
}

// AppendCanonicalAny appends a value decoded by encoding/json (with or
// without UseNumber) in the canonical encoding.
func AppendCanonicalAny(dst []byte, v any) ([]byte, error) {
	return canonicalAny.append(dst, v)
}

var canonicalAny = anyEncoder{asMarshal: false, scalar: canonicalScalar}

func canonicalScalar(dst []byte, v any) ([]byte, error) {
	switch t := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(t.String(), 10, 64); err == nil {
			return strconv.AppendInt(dst, i, 10), nil
		}
		f, err := strconv.ParseFloat(t.String(), 64)
		if err != nil {
			return nil, fmt.Errorf("number %s: %w", t, err)
		}
		return appendFloat(dst, f), nil
	case float64:
		if t == math.Trunc(t) && math.Abs(t) < 1<<53 {
			return strconv.AppendInt(dst, int64(t), 10), nil
		}
		return appendFloat(dst, t), nil
	}
	return commonScalar(dst, v, false)
}
