// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package jsonbody

import (
	"sync"
	"unicode/utf16"
	"unicode/utf8"
)

// scanRecord decodes one JSON object in a single pass that checks the
// limits as it goes, straight into a typed Value (no map, no interface per
// value). It reports only success: on anything else (a syntax error, a
// limit, data after the object, not an object) the caller takes the slow
// path, whose checks and messages are the reference, so a bad record is
// named exactly as before. b must be valid UTF-8 (Split and DecodeObject
// check that first).
func scanRecord(b []byte, lim Limits) (Value, bool) {
	// Each string is its own allocation, not a slice of one copy of the
	// record: a slice would keep the whole line (prompts the processor drops,
	// keys it scrubs) alive as long as any field of the record is.
	s := scanner{b: b, lim: lim}
	s.space()
	if s.i >= len(b) || b[s.i] != '{' {
		return Value{}, false
	}
	scratch := scratches.Get().(*[]Member)
	s.scratch = (*scratch)[:0]
	obj, ok := s.object(1)
	if !ok {
		clear(s.scratch) // what a refused record left
	}
	if cap(s.scratch) <= maxPooledMembers {
		*scratch = s.scratch
		scratches.Put(scratch)
	}
	if !ok {
		return Value{}, false
	}
	s.space()
	return obj, s.i == len(b)
}

type scanner struct {
	b   []byte
	i   int
	lim Limits
	// scratch holds the members of the objects and arrays being decoded,
	// innermost last; each is copied out at its end into a slice of its
	// exact size, so a record's members cost one allocation.
	scratch []Member
}

// maxPooledMembers: a scratch grown larger by one outsized record is left to
// the garbage collector rather than kept.
const maxPooledMembers = 4096

var scratches = sync.Pool{New: func() any { return new([]Member) }}

// items moves the members from start on out of the scratch.
func (s *scanner) items(start int) []Member {
	out := make([]Member, len(s.scratch)-start)
	copy(out, s.scratch[start:])
	clear(s.scratch[start:]) // the pool keeps no string of this record
	s.scratch = s.scratch[:start]
	return out
}

func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// value decodes the value at s.i, at nesting depth (the record is 1).
func (s *scanner) value(depth int) (Value, bool) {
	if s.i >= len(s.b) {
		return Value{}, false
	}
	switch c := s.b[s.i]; {
	case c == '{':
		return s.object(depth + 1)
	case c == '[':
		return s.array(depth + 1)
	case c == '"':
		str, ok := s.string()
		return Value{Kind: String, Str: str}, ok
	case c == '-' || c >= '0' && c <= '9':
		num, ok := s.number()
		return Value{Kind: Number, Str: num}, ok
	case c == 't':
		return Value{Kind: Bool, Bool: true}, s.literal("true")
	case c == 'f':
		return Value{Kind: Bool}, s.literal("false")
	case c == 'n':
		return Value{}, s.literal("null")
	}
	return Value{}, false
}

func (s *scanner) literal(word string) bool {
	if len(s.b)-s.i < len(word) || string(s.b[s.i:s.i+len(word)]) != word {
		return false
	}
	s.i += len(word)
	return true
}

// maxScanDepth bounds the recursion whatever the limits allow (a
// max_nesting_depth may be set high): deeper input takes the slow path,
// where encoding/json refuses nesting past the same depth.
const maxScanDepth = 10000

// enter consumes a container's opening bracket at depth, and its closing
// one when it is empty; not ok past the depth limit.
func (s *scanner) enter(depth int, closer byte) (empty, ok bool) {
	if depth > maxScanDepth || s.lim.MaxDepth > 0 && depth > s.lim.MaxDepth {
		return false, false
	}
	s.i++
	s.space()
	if s.i < len(s.b) && s.b[s.i] == closer {
		s.i++
		return true, true
	}
	return false, true
}

// next consumes what follows a container's element: a comma (more follow)
// or the closing bracket.
func (s *scanner) next(closer byte) (more, ok bool) {
	s.space()
	if s.i >= len(s.b) {
		return false, false
	}
	switch s.b[s.i] {
	case ',':
		s.i++
		s.space()
		return true, true
	case closer:
		s.i++
		return false, true
	}
	return false, false
}

// object decodes the object whose '{' is at s.i, its members in input
// order (a repeated key is kept; Value says which one counts).
func (s *scanner) object(depth int) (Value, bool) {
	empty, ok := s.enter(depth, '}')
	if !ok {
		return Value{}, false
	}
	start := len(s.scratch)
	for more := !empty; more; {
		if s.i >= len(s.b) || s.b[s.i] != '"' {
			return Value{}, false
		}
		key, ok := s.key()
		if !ok {
			return Value{}, false
		}
		s.space()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return Value{}, false
		}
		s.i++
		s.space()
		v, ok := s.value(depth)
		if !ok {
			return Value{}, false
		}
		s.scratch = append(s.scratch, Member{Key: key, Value: v})
		if more, ok = s.next('}'); !ok {
			return Value{}, false
		}
	}
	return Value{Kind: Object, Items: s.items(start)}, true
}

func (s *scanner) array(depth int) (Value, bool) {
	empty, ok := s.enter(depth, ']')
	if !ok {
		return Value{}, false
	}
	start := len(s.scratch)
	for more := !empty; more; {
		v, ok := s.value(depth)
		if !ok {
			return Value{}, false
		}
		s.scratch = append(s.scratch, Member{Value: v})
		if more, ok = s.next(']'); !ok {
			return Value{}, false
		}
	}
	return Value{Kind: Array, Items: s.items(start)}, true
}

// key decodes an object's key: a known one (InternKeys) without an
// allocation of its own, any other as string does.
func (s *scanner) key() (string, bool) {
	start := s.i + 1
	for i := start; i < len(s.b); i++ {
		switch c := s.b[i]; {
		case c == '"':
			if k, ok := knownKeys[string(s.b[start:i])]; ok && s.fits(i-start) {
				s.i = i + 1
				return k, true
			}
			return s.string()
		case c == '\\' || c < 0x20:
			return s.string()
		}
	}
	return "", false
}

// knownKeys are the keys a reader of records looks for, kept once.
var knownKeys = map[string]string{}

// InternKeys registers keys that records hold again and again (the input
// names the normaliser reads), so decoding one costs no allocation. Call it
// from a package's initialisation only: the table is read without a lock.
func InternKeys(keys ...string) {
	for _, k := range keys {
		knownKeys[k] = k
	}
}

// string decodes the string whose '"' is at s.i. Its length limit counts
// the bytes between the quotes, escapes as written, as the limits scan does.
func (s *scanner) string() (string, bool) {
	start := s.i + 1
	i := start
	for i < len(s.b) {
		c := s.b[i]
		if c == '"' {
			if !s.fits(i - start) {
				return "", false
			}
			s.i = i + 1
			return string(s.b[start:i]), true
		}
		if c == '\\' || c < 0x20 {
			return s.escaped(start)
		}
		i++
	}
	return "", false
}

func (s *scanner) fits(n int) bool { return s.lim.MaxStringLength <= 0 || n <= s.lim.MaxStringLength }

// escaped decodes a string with escapes, as encoding/json unquotes it: a
// lone surrogate becomes U+FFFD.
func (s *scanner) escaped(start int) (string, bool) {
	out := make([]byte, 0, 64)
	i := start
	for i < len(s.b) {
		c := s.b[i]
		switch {
		case c == '"':
			if !s.fits(i - start) {
				return "", false
			}
			s.i = i + 1
			return string(out), true
		case c < 0x20:
			return "", false
		case c != '\\':
			out = append(out, c)
			i++
			continue
		}
		if i+1 >= len(s.b) {
			return "", false
		}
		switch e := s.b[i+1]; e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := hex4(s.b, i+2)
			if !ok {
				return "", false
			}
			i += 6
			if utf16.IsSurrogate(r) {
				if r2, ok := hex4(s.b, i+2); ok && i+1 < len(s.b) && s.b[i] == '\\' && s.b[i+1] == 'u' {
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						out = utf8.AppendRune(out, dec)
						i += 6
						continue
					}
				}
				r = utf8.RuneError
			}
			out = utf8.AppendRune(out, r)
			continue
		default:
			return "", false
		}
		i += 2
	}
	return "", false
}

// hex4 reads the four hex digits of a \u escape at b[i:].
func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// number reads a JSON number (RFC 8259 grammar), its literal text.
func (s *scanner) number() (string, bool) {
	start, i := s.i, s.i
	if i < len(s.b) && s.b[i] == '-' {
		i++
	}
	switch {
	case i < len(s.b) && s.b[i] == '0':
		i++
	case i < len(s.b) && s.b[i] >= '1' && s.b[i] <= '9':
		for i < len(s.b) && s.b[i] >= '0' && s.b[i] <= '9' {
			i++
		}
	default:
		return "", false
	}
	if i < len(s.b) && s.b[i] == '.' {
		i++
		if i >= len(s.b) || s.b[i] < '0' || s.b[i] > '9' {
			return "", false
		}
		for i < len(s.b) && s.b[i] >= '0' && s.b[i] <= '9' {
			i++
		}
	}
	if i < len(s.b) && (s.b[i] == 'e' || s.b[i] == 'E') {
		i++
		if i < len(s.b) && (s.b[i] == '+' || s.b[i] == '-') {
			i++
		}
		if i >= len(s.b) || s.b[i] < '0' || s.b[i] > '9' {
			return "", false
		}
		for i < len(s.b) && s.b[i] >= '0' && s.b[i] <= '9' {
			i++
		}
	}
	s.i = i
	return string(s.b[start:i]), true
}
