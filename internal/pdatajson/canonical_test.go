// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package pdatajson

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gowebpki/jcs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/policyaudit/policyaudit/internal/testfixtures"
)

func decodeWithNumbers(b []byte) (any, bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil || dec.More() {
		return nil, false
	}
	return v, true
}

// The IEEE 754 samples of RFC 8785 Appendix B and what JCS writes for each.
func TestCanonicalNumbersRFC8785(t *testing.T) {
	samples := map[uint64]string{
		0x0000000000000000: "0",
		0x8000000000000000: "0",
		0x0000000000000001: "5e-324",
		0x8000000000000001: "-5e-324",
		0x7fefffffffffffff: "1.7976931348623157e+308",
		0xffefffffffffffff: "-1.7976931348623157e+308",
		0x4340000000000000: "9007199254740992",
		0xc340000000000000: "-9007199254740992",
		0x4430000000000000: "295147905179352830000",
		0x44b52d02c7e14af5: "9.999999999999997e+22",
		0x44b52d02c7e14af6: "1e+23",
		0x44b52d02c7e14af7: "1.0000000000000001e+23",
		0x444b1ae4d6e2ef4e: "999999999999999700000",
		0x444b1ae4d6e2ef4f: "999999999999999900000",
		0x444b1ae4d6e2ef50: "1e+21",
		0x3eb0c6f7a0b5ed8c: "9.999999999999997e-7",
		0x3eb0c6f7a0b5ed8d: "0.000001",
		0x41b3de4355555553: "333333333.3333332",
		0x41b3de4355555554: "333333333.33333325",
		0x41b3de4355555555: "333333333.3333333",
		0x41b3de4355555556: "333333333.3333334",
		0x41b3de4355555557: "333333333.33333343",
		0xbecbf647612f3696: "-0.0000033333333333333333",
		0x43143ff3c1cb0959: "1424953923781206.2",
	}
	for bits, want := range samples {
		f := math.Float64frombits(bits)
		assert.Equal(t, want, string(appendCanonicalNumber(nil, f)), "%#016x", bits)
		v := pcommon.NewValueDouble(f)
		assert.Equal(t, want, string(AppendCanonicalValue(nil, v)), "%#016x", bits)
	}
}

// RFC 8785 3.2.3: keys sort by UTF-16 code units, not by code points.
func TestCanonicalKeyOrderRFC8785(t *testing.T) {
	in := map[string]any{"\u20ac": "Euro Sign", "\r": "Carriage Return", "\ufb33": "Hebrew Letter Dalet With Dagesh",
		"1": "One", "\U0001F600": "Emoji: Grinning Face", "\u0080": "Control", "\u00f6": "Latin Small Letter O With Diaeresis"}
	got, err := AppendCanonicalAny(nil, in)
	require.NoError(t, err)
	want := "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u0080\":\"Control\",\"\u00f6\":\"Latin Small Letter O With Diaeresis\"," +
		"\"\u20ac\":\"Euro Sign\",\"\U0001F600\":\"Emoji: Grinning Face\",\"\ufb33\":\"Hebrew Letter Dalet With Dagesh\"}"
	assert.Equal(t, want, string(got))
}

// The canonical encoding of every fixture body, and of values chosen to hit
// each rule, is what an independent JCS implementation writes.
func TestCanonicalMatchesIndependentJCS(t *testing.T) {
	inputs := [][]byte{
		[]byte(`{"b":"<a href=\"x\">&amp;</a>","a":[1.5,1e21,1e-7,0.000001,-0.0,123456789,null,true,false]}`),
		[]byte(`"tab\tnew\nline\r\u0001\u001f\b\f\u007f\u2028\u2029 \\ \" é 漢 😀"`),
		[]byte(`{"n":12.50,"i":-3,"big":9223372036854775807,"e":{},"l":[],"\ud83d\ude00":1,"\ufb33":2}`),
		[]byte(`[1E400, -1e-400, 4.35, 0.1e1, 100e-2, 18446744073709551616]`),
	}
	inputs = append(inputs, testfixtures.Bodies(t, false)...)
	for _, in := range inputs {
		v, ok := decodeWithNumbers(in)
		if !ok {
			continue
		}
		want, err := jcs.Transform(in)
		if err != nil {
			continue // JCS refuses numbers JSON cannot carry as doubles
		}
		got, err := AppendCanonicalAny(nil, v)
		require.NoError(t, err)
		assert.Equal(t, string(want), string(got), "%s", in)
	}
}

// Whatever a pdata body holds (invalid UTF-8, control characters, bytes,
// NaN), its canonical bytes are valid UTF-8 JSON that decodes and re-encodes
// to the same bytes, from pdata and from the decoded value alike.
func TestCanonicalRoundTrips(t *testing.T) {
	m := pcommon.NewMap()
	m.PutStr("bad", "a\xffb\xc3")
	m.PutStr("ctl", "\x00\x1f\x7f\b\f")
	m.PutStr("cut", "é漢"[:3])
	m.PutDouble("nan", math.NaN())
	m.PutInt("big", math.MaxInt64)
	m.PutEmptyBytes("bytes").FromRaw([]byte{0, 1, 2})
	m.PutStr("\xfekey", "v")
	assertRoundTrip(t, m)
}

func assertRoundTrip(t testing.TB, m pcommon.Map) {
	first := AppendCanonicalMap(nil, m)
	v, ok := decodeWithNumbers(first)
	if !ok {
		t.Fatalf("canonical bytes are not JSON: %q", first)
	}
	again, err := AppendCanonicalAny(nil, v)
	if err != nil || !bytes.Equal(first, again) {
		t.Fatalf("canonical bytes do not round-trip:\n%q\n%q (%v)", first, again, err)
	}
	if want, err := jcs.Transform(first); err == nil && !bytes.Equal(want, first) {
		t.Fatalf("independent JCS differs:\n%q\n%q", want, first)
	}
}

// FuzzCanonicalRoundTrip: a pdata body built from arbitrary JSON, with
// arbitrary bytes in a string and a key, encodes to canonical bytes that
// decode and re-encode to themselves.
func FuzzCanonicalRoundTrip(f *testing.F) {
	for _, b := range testfixtures.Bodies(f, false) {
		f.Add(b, "x\xff")
	}
	f.Add([]byte(`{"x":"\u2028","y":[1e-9,2.5e30,-0,1e400]}`), "\x00\xc3")
	f.Fuzz(func(t *testing.T, body []byte, s string) {
		m := pcommon.NewMap()
		if v, ok := decodeWithNumbers(body); ok {
			if obj, ok := v.(map[string]any); ok {
				_ = m.FromRaw(numbersAsFloats(obj).(map[string]any))
			}
		}
		m.PutStr("fuzz", s)
		m.PutStr(s, "key")
		assertRoundTrip(t, m)
	})
}

// numbersAsFloats turns json.Numbers into what pdata holds (FromRaw does not
// take json.Number).
func numbersAsFloats(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			t[k] = numbersAsFloats(e)
		}
	case []any:
		for i, e := range t {
			t[i] = numbersAsFloats(e)
		}
	case json.Number:
		f, _ := t.Float64()
		return f
	}
	return v
}

// compareUTF16's byte shortcut orders keys as the rune-by-rune comparison
// does, invalid UTF-8 and prefixes included.
func TestKeyOrderShortcutAgreesWithRunes(t *testing.T) {
	alphabet := []string{"a", "b", "A", "_", "é", "\uE000", "\uFFFF", "😀", "\U00010000", "\xC3", "\xA9", "\xE2\x82", "\x80", "\x00"}
	rng := rand.New(rand.NewPCG(1, 2))
	word := func() string {
		var b strings.Builder
		for range rng.IntN(5) {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		return b.String()
	}
	sign := func(n int) int { return min(max(n, -1), 1) }
	for range 200_000 {
		a, b := word(), word()
		if got, want := sign(compareUTF16(a, b)), sign(compareRunes(a, b)); got != want {
			t.Fatalf("%q vs %q: %d, rune by rune %d", a, b, got, want)
		}
	}
}

// TestPlainASCII8 against a byte-by-byte reading: every byte value in every
// position among plain neighbours, and random words.
func TestPlainASCII8(t *testing.T) {
	naive := func(b []byte) bool {
		for _, c := range b {
			if c < 0x20 || c >= 0x80 || c == '"' || c == '\\' {
				return false
			}
		}
		return true
	}
	word := []byte("abcdefgh")
	for pos := range 8 {
		for c := range 256 {
			b := bytes.Clone(word)
			b[pos] = byte(c)
			if got, want := plainASCII8(binary.LittleEndian.Uint64(b)), naive(b); got != want {
				t.Fatalf("%q: %v, want %v", b, got, want)
			}
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 1_000_000 {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], rng.Uint64())
		for i := range b {
			if rng.IntN(2) == 0 {
				b[i] &= 0x7f // mostly ASCII, so the plain case is reached
			}
		}
		if got, want := plainASCII8(binary.LittleEndian.Uint64(b[:])), naive(b[:]); got != want {
			t.Fatalf("%q: %v, want %v", b, got, want)
		}
	}
}
