package record

import (
	"strings"
	"unicode/utf8"
)

// ValidUTF8 replaces invalid UTF-8 in every key and string of m (in place)
// with U+FFFD. encoding/json does the same when it decodes, but a pdata body
// from OTLP or filelog can carry any bytes; canonical records hold only valid
// UTF-8, so every destination, and the hash chain, sees the same text.
func ValidUTF8(m map[string]any) map[string]any {
	for k, v := range m {
		nv := validValue(v)
		if !utf8.ValidString(k) {
			delete(m, k)
			k = strings.ToValidUTF8(k, "\uFFFD")
		}
		m[k] = nv
	}
	return m
}

func validValue(v any) any {
	switch t := v.(type) {
	case string:
		if !utf8.ValidString(t) {
			return strings.ToValidUTF8(t, "\uFFFD")
		}
	case map[string]any:
		return ValidUTF8(t)
	case []any:
		for i, e := range t {
			t[i] = validValue(e)
		}
	}
	return v
}

// TruncateUTF8 cuts s to at most n bytes on a character boundary, after
// replacing invalid UTF-8, so a cut never splits a character.
func TruncateUTF8(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
