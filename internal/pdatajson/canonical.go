// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package pdatajson

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// The canonical encoding is the byte string the audit store's hash chain and
// the derived identifiers hash. It is the JSON Canonicalization Scheme (RFC
// 8785), so an auditor can recompute every hash with any JCS implementation:
//   - object keys sorted by their UTF-16 code units, no whitespace;
//   - strings as ECMAScript's JSON.stringify writes them: `"` and `\`
//     escaped, \b \t \n \f \r, other control characters as \u00xx, everything
//     else as literal UTF-8;
//   - numbers as ECMAScript writes an IEEE 754 double (integers beyond 2^53
//     lose precision, as in every JCS implementation);
//   - true, false, null.
// JCS requires valid UTF-8: invalid bytes are written as U+FFFD, literally,
// so the output always decodes and re-encodes to itself. pdata bytes are
// written as base64 strings, NaN and infinities (which JSON cannot carry) as
// null.

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
	case pcommon.ValueTypeStr:
		return appendCanonicalString(dst, v.Str())
	case pcommon.ValueTypeInt:
		return appendCanonicalNumber(dst, float64(v.Int()))
	case pcommon.ValueTypeDouble:
		return appendCanonicalNumber(dst, v.Double())
	case pcommon.ValueTypeBool:
		return strconv.AppendBool(dst, v.Bool())
	case pcommon.ValueTypeBytes:
		dst = append(dst, '"')
		dst = base64.StdEncoding.AppendEncode(dst, v.Bytes().AsRaw())
		return append(dst, '"')
	default:
		return append(dst, "null"...)
	}
}

// AppendCanonicalMap appends m in the canonical encoding.
func AppendCanonicalMap(dst []byte, m pcommon.Map) []byte {
	return AppendCanonicalMapWithout(dst, m, nil)
}

// AppendCanonicalMapWithout appends m in the canonical encoding, leaving out
// the top-level entries skip reports (nil skips none).
func AppendCanonicalMapWithout(dst []byte, m pcommon.Map, skip func(key string, v pcommon.Value) bool) []byte {
	// Entries are sorted with their values, so no key is looked up again;
	// a record's map fits the array on the stack.
	var stack [48]mapEntry
	entries := stack[:0]
	for k, v := range m.All() {
		if skip == nil || !skip(k, v) {
			entries = append(entries, mapEntry{k, v})
		}
	}
	if !slices.IsSortedFunc(entries, compareEntries) {
		slices.SortFunc(entries, compareEntries)
	}
	dst = append(dst, '{')
	for i, e := range entries {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendCanonicalString(dst, e.key)
		dst = append(dst, ':')
		dst = AppendCanonicalValue(dst, e.value)
	}
	return append(dst, '}')
}

// mapEntry is one entry of a map being encoded.
type mapEntry struct {
	key   string
	value pcommon.Value
}

func compareEntries(a, b mapEntry) int { return compareUTF16(a.key, b.key) }

// AppendCanonicalAny appends a value decoded by encoding/json (with or
// without UseNumber) in the canonical encoding.
func AppendCanonicalAny(dst []byte, v any) ([]byte, error) {
	switch t := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sortKeys(keys)
		dst = append(dst, '{')
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendCanonicalString(dst, k)
			dst = append(dst, ':')
			var err error
			if dst, err = AppendCanonicalAny(dst, t[k]); err != nil {
				return nil, err
			}
		}
		return append(dst, '}'), nil
	case []any:
		dst = append(dst, '[')
		for i, el := range t {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = AppendCanonicalAny(dst, el); err != nil {
				return nil, err
			}
		}
		return append(dst, ']'), nil
	case nil:
		return append(dst, "null"...), nil
	case bool:
		return strconv.AppendBool(dst, t), nil
	case string:
		return appendCanonicalString(dst, t), nil
	case json.Number:
		f, err := strconv.ParseFloat(t.String(), 64)
		if err != nil && !math.IsInf(f, 0) {
			return nil, fmt.Errorf("number %s: %w", t, err)
		}
		return appendCanonicalNumber(dst, f), nil
	case float64:
		return appendCanonicalNumber(dst, t), nil
	case int64:
		return appendCanonicalNumber(dst, float64(t)), nil
	}
	return nil, fmt.Errorf("unsupported value of type %T", v)
}

// sortKeys orders object keys by their UTF-16 code units (RFC 8785 3.2.3),
// which differs from UTF-8 byte order only between supplementary characters
// and U+E000..U+FFFF.
func sortKeys(keys []string) {
	slices.SortFunc(keys, compareUTF16)
}

func compareUTF16(a, b string) int {
	// Keys nearly always first differ at an ASCII byte: there every rune
	// before it decodes alike in both, and the order is the bytes' order.
	i, n := 0, min(len(a), len(b))
	for i < n && a[i] == b[i] {
		i++
	}
	if i < n && a[i] < utf8.RuneSelf && b[i] < utf8.RuneSelf {
		return int(a[i]) - int(b[i])
	}
	return compareRunes(a, b)
}

// compareRunes compares rune by rune, invalid bytes as U+FFFD.
func compareRunes(a, b string) int {
	for a != "" && b != "" {
		ra, na := utf8.DecodeRuneInString(a)
		rb, nb := utf8.DecodeRuneInString(b)
		if ra != rb {
			return utf16Key(ra) - utf16Key(rb)
		}
		a, b = a[na:], b[nb:]
	}
	return len(a) - len(b)
}

// utf16Key is the first UTF-16 code unit of r, which decides the order of
// two different runes (surrogates D800-DFFF sort below E000-FFFF).
func utf16Key(r rune) int {
	if r >= 0x10000 {
		hi, _ := utf16.EncodeRune(r)
		return int(hi)
	}
	return int(r)
}

const hexDigits = "0123456789abcdef"

// appendCanonicalString writes s as ECMAScript's JSON.stringify does, with
// invalid UTF-8 as a literal U+FFFD.
func appendCanonicalString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		// Eight bytes at a time while none needs a look: the common case
		// of IDs, names and codes.
		for i+8 <= len(s) && plainASCII8(binary.LittleEndian.Uint64([]byte(s[i:i+8]))) {
			i += 8
		}
		if i >= len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, "\uFFFD"...)
			i++
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// plainASCII8 reports whether the eight bytes of x are all ASCII, at
// least 0x20, and neither '"' nor '\\': bytes a JSON string holds as they
// are. (SWAR: a byte's high bit is set in the test words exactly when it
// is below 0x20, equals the quote or backslash, or is not ASCII.)
func plainASCII8(x uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	below := (x - 0x20*ones) &^ x
	quote := x ^ ('"' * ones)
	backslash := x ^ ('\\' * ones)
	zeroQuote := (quote - ones) &^ quote
	zeroBackslash := (backslash - ones) &^ backslash
	return (below|zeroQuote|zeroBackslash|x)&highs == 0
}

// appendCanonicalNumber writes f as ECMAScript's Number.prototype.toString
// (RFC 8785 3.2.2.3): the shortest digits that round-trip, fixed notation for
// magnitudes in [1e-6, 1e21), else d.ddde±x; -0 as 0.
func appendCanonicalNumber(dst []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, "null"...)
	}
	if f == 0 {
		return append(dst, '0')
	}
	abs := math.Abs(f)
	if abs >= 1e-6 && abs < 1e21 {
		return strconv.AppendFloat(dst, f, 'f', -1, 64)
	}
	start := len(dst)
	dst = strconv.AppendFloat(dst, f, 'e', -1, 64)
	// Go writes e-07 and e+07; ECMAScript e-7 and e+7.
	for i := start; i < len(dst); i++ {
		if dst[i] == 'e' && i+2 < len(dst) && dst[i+2] == '0' && i+3 < len(dst) {
			dst = append(dst[:i+2], dst[i+3:]...)
			break
		}
	}
	return dst
}

// CanonicalJSON is the RFC 8785 encoding of a Go value json.Marshal can
// write (a struct, a map), for documents that are signed.
func CanonicalJSON(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var obj any
	if err := dec.Decode(&obj); err != nil {
		return nil, err
	}
	return AppendCanonicalAny(nil, obj)
}

// AppendCanonicalString appends s as a canonical JSON string.
func AppendCanonicalString(dst []byte, s string) []byte { return appendCanonicalString(dst, s) }
