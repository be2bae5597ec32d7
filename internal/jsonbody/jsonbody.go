// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

// Package jsonbody splits a request body holding JSON records (one object, an
// array of objects, or NDJSON) into decoded objects, within limits that keep
// hostile input bounded: nesting depth, string length and record count are
// checked by a byte scan before anything is decoded.
package jsonbody // import "github.com/policyaudit/policyaudit/internal/jsonbody"
import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"
)

// Limits bound what one body may hold.
type Limits struct {
	MaxDepth        int // nesting of objects and arrays; the record itself is depth 1
	MaxStringLength int // bytes in one string, keys included
	MaxRecords      int
}

// DefaultLimits are generous for audit records and small for an attacker.
var DefaultLimits = Limits{MaxDepth: 32, MaxStringLength: 64 << 10, MaxRecords: 10000}

// Position locates a record in a body.
type Position struct {
	Line  int // 1-based line of an NDJSON record, else 0
	Index int // 0-based index in a JSON array, or -1
}

func (p Position) String() string {
	switch {
	case p.Line > 0:
		return "line " + strconv.Itoa(p.Line)
	case p.Index >= 0:
		return "index " + strconv.Itoa(p.Index)
	default:
		return "body"
	}
}

var (
	bodyPos = Position{Index: -1}
	bom     = []byte("\xef\xbb\xbf")
)

// Error is a problem with one record, or with the body as a whole.
type Error struct {
	Pos      Position
	Field    string // canonical field at fault, if a field is
	Reason   string
	Msg      string
	TooLarge bool // the body holds more than the limits allow (HTTP 413)
}

func (e *Error) Error() string {
	if e.Field != "" {
		return e.Pos.String() + ": " + e.Field + ": " + e.Msg
	}
	return e.Pos.String() + ": " + e.Msg
}

// Reasons.
const (
	ReasonMalformedJSON = "malformed_json"
	ReasonInvalidUTF8   = "invalid_utf8"
	ReasonNotObject     = "not_an_object"
	ReasonLimit         = "limit_exceeded"
	ReasonEmpty         = "empty_body"
)

// Split calls fn for every record of body, in order, stopping at the first
// error. ndjson forces line mode; otherwise a body starting with '[' is an
// array, a body that is one valid JSON value is a single object, and anything
// else is read as NDJSON (which is how a line with a syntax error is named).
func Split(body []byte, ndjson bool, lim Limits, fn func(Position, Value) error) error {
	body = bytes.TrimSpace(bytes.TrimPrefix(bytes.TrimSpace(body), bom))
	if len(body) == 0 {
		return &Error{Pos: bodyPos, Reason: ReasonEmpty, Msg: "empty body"}
	}
	if !utf8.Valid(body) {
		return invalidUTF8(body)
	}
	if !ndjson && body[0] == '[' {
		return splitArray(body, lim, fn)
	}
	if !ndjson && body[0] == '{' {
		if obj, ok := scanRecord(body, lim); ok {
			return fn(bodyPos, obj)
		}
	}
	if !ndjson && body[0] == '{' && json.Valid(body) {
		if err := checkLimits(body, lim); err != nil {
			err.Pos = bodyPos
			return err
		}
		obj, err := decodeObject(body)
		if err != nil {
			err.Pos = bodyPos
			return err
		}
		return fn(bodyPos, FromAny(obj))
	}
	return splitLines(body, lim, fn)
}

func splitLines(body []byte, lim Limits, fn func(Position, Value) error) error {
	if lim.MaxRecords > 0 && bytes.Count(body, []byte{'\n'}) >= lim.MaxRecords {
		if n := countNonEmptyLines(body); n > lim.MaxRecords {
			return tooMany(n, lim.MaxRecords)
		}
	}
	line := 0
	for len(body) > 0 {
		line++
		var l []byte
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			l, body = body[:i], body[i+1:]
		} else {
			l, body = body, nil
		}
		l = bytes.TrimSpace(l)
		if len(l) == 0 {
			continue
		}
		pos := Position{Line: line, Index: -1}
		obj, derr := decodeChecked(l, lim)
		if derr != nil {
			derr.Pos = pos
			return derr
		}
		if err := fn(pos, obj); err != nil {
			return err
		}
	}
	return nil
}

// splitArray finds the array's elements in the same scan that checks the
// limits, and refuses more than MaxRecords of them before decoding (or
// allocating for) any: a small gzip body of a million empty objects costs a
// scan, not a million decoded values.
func splitArray(body []byte, lim Limits, fn func(Position, Value) error) error {
	elems, err := scanArray(body, lim)
	if err != nil {
		err.Pos = bodyPos
		return err
	}
	for i, e := range elems {
		pos := Position{Index: i}
		obj, err := decodeChecked(body[e[0]:e[1]], lim)
		if err != nil {
			err.Pos = pos
			return err
		}
		if err := fn(pos, obj); err != nil {
			return err
		}
	}
	return nil
}

// scanArray checks the limits of a JSON array and returns the byte range of
// each top-level element. It does not validate JSON beyond the array's own
// brackets and commas; each element's decoder does the rest.
func scanArray(b []byte, lim Limits) ([][2]int, *Error) {
	var elems [][2]int
	start, end := -1, -1 // the open element; the array's closing bracket
	element := func(i int) *Error {
		s, e := trimRange(b, start, i)
		if s == e {
			return &Error{Reason: ReasonMalformedJSON, Msg: fmt.Sprintf("malformed JSON array: a missing element at byte %d", i)}
		}
		elems = append(elems, [2]int{s, e})
		if lim.MaxRecords > 0 && len(elems) > lim.MaxRecords {
			return &Error{Reason: ReasonLimit, TooLarge: true, Msg: fmt.Sprintf("more than %d records in one request, the limit", lim.MaxRecords)}
		}
		return nil
	}
	// The array itself is a level: a record in it starts at depth 2.
	err := walk(b, lim, 1, func(i int, c byte, depth int) *Error {
		switch {
		case end >= 0:
			return &Error{Reason: ReasonMalformedJSON, Msg: fmt.Sprintf("malformed JSON array: data after its end at byte %d", i)}
		case depth != 1:
			return nil
		case c == '[':
			start = i + 1
		case c == ',':
			if err := element(i); err != nil {
				return err
			}
			start = i + 1
		case c == ']':
			end = i
			if s, e := trimRange(b, start, i); s < e || len(elems) > 0 {
				return element(i)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if end < 0 {
		return nil, &Error{Reason: ReasonMalformedJSON, Msg: "malformed JSON array: unexpected end of input (truncated)"}
	}
	if s, e := trimRange(b, end+1, len(b)); s < e {
		return nil, &Error{Reason: ReasonMalformedJSON, Msg: fmt.Sprintf("malformed JSON array: data after its end at byte %d", s)}
	}
	return elems, nil
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// trimRange is [from, to) of b without white space at either end.
func trimRange(b []byte, from, to int) (int, int) {
	for from < to && isSpace(b[from]) {
		from++
	}
	for to > from && isSpace(b[to-1]) {
		to--
	}
	return from, to
}

// DecodeObject decodes one JSON object within lim (used for log bodies that
// hold a record as JSON text).
func DecodeObject(b []byte, lim Limits) (Value, error) {
	b = bytes.TrimSpace(b)
	if !utf8.Valid(b) {
		return Value{}, invalidUTF8(b)
	}
	obj, err := decodeChecked(b, lim)
	if err != nil {
		err.Pos = bodyPos
		return Value{}, err
	}
	return obj, nil
}

// decodeChecked decodes one record within lim: in one pass when it is a
// well-formed object within the limits (nearly always), else the slow way,
// limits scan then encoding/json, which names what is wrong.
func decodeChecked(b []byte, lim Limits) (Value, *Error) {
	if obj, ok := scanRecord(b, lim); ok {
		return obj, nil
	}
	if err := checkLimits(b, lim); err != nil {
		return Value{}, err
	}
	obj, err := decodeObject(b)
	if err != nil {
		return Value{}, err
	}
	return FromAny(obj), nil
}

func decodeObject(b []byte) (map[string]any, *Error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, &Error{Reason: ReasonMalformedJSON, Msg: "malformed JSON: " + jsonErrText(err)}
	}
	if dec.More() {
		return nil, &Error{Reason: ReasonMalformedJSON, Msg: fmt.Sprintf("malformed JSON: unexpected data after the record at byte %d", dec.InputOffset())}
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, &Error{Reason: ReasonNotObject, Msg: "a record must be a JSON object"}
	}
	return obj, nil
}

// checkLimits scans b once, tracking strings and nesting, and reports the first
// limit b exceeds. It does not validate JSON; the decoder does that after.
func checkLimits(b []byte, lim Limits) *Error {
	return walk(b, lim, 0, nil)
}

// walk scans b once, tracking strings and nesting, stops at the first limit b
// exceeds (levels counts the enclosing levels that are not the record's, such
// as an array around records), and calls visit (when not nil) for each
// bracket and comma outside strings, with the depth the byte is at (an
// opening bracket at its own level). The limits check and the array split
// share it.
func walk(b []byte, lim Limits, levels int, visit func(i int, c byte, depth int) *Error) *Error {
	depth, inString, escaped, strStart := 0, false, false, 0
	for i, c := range b {
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
				if lim.MaxStringLength > 0 && i-strStart-1 > lim.MaxStringLength {
					return &Error{Reason: ReasonLimit, Msg: fmt.Sprintf("a string at byte %d is longer than %d bytes", strStart, lim.MaxStringLength)}
				}
			}
			continue
		}
		switch c {
		case '"':
			inString, strStart = true, i
			continue
		case '{', '[':
			depth++
			if lim.MaxDepth > 0 && depth > lim.MaxDepth+levels {
				return &Error{Reason: ReasonLimit, Msg: fmt.Sprintf("nesting deeper than %d levels at byte %d", lim.MaxDepth, i)}
			}
		case '}', ']', ',':
		default:
			continue
		}
		if visit != nil {
			if err := visit(i, c, depth); err != nil {
				return err
			}
		}
		if c == '}' || c == ']' {
			depth--
		}
	}
	if inString && lim.MaxStringLength > 0 && len(b)-strStart-1 > lim.MaxStringLength {
		return &Error{Reason: ReasonLimit, Msg: fmt.Sprintf("a string at byte %d is longer than %d bytes", strStart, lim.MaxStringLength)}
	}
	return nil
}

func invalidUTF8(b []byte) *Error {
	off := 0
	for off < len(b) {
		r, size := utf8.DecodeRune(b[off:])
		if r == utf8.RuneError && size <= 1 {
			break
		}
		off += size
	}
	line := 1 + bytes.Count(b[:off], []byte{'\n'})
	return &Error{Pos: Position{Line: line, Index: -1}, Reason: ReasonInvalidUTF8, Msg: fmt.Sprintf("not valid UTF-8 (byte %d of the body)", off)}
}

func tooMany(n, limit int) *Error {
	return &Error{Pos: bodyPos, Reason: ReasonLimit, TooLarge: true, Msg: fmt.Sprintf("%d records in one request, more than the limit of %d", n, limit)}
}

// countNonEmptyLines counts lines holding something but white space,
// without allocating: a body of a million newlines costs nothing.
func countNonEmptyLines(b []byte) int {
	n, blank := 0, true
	for _, c := range b {
		switch c {
		case '\n':
			if !blank {
				n++
			}
			blank = true
		case ' ', '\t', '\r':
		default:
			blank = false
		}
	}
	if !blank {
		n++
	}
	return n
}

// jsonErrText makes encoding/json's errors say where.
func jsonErrText(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%s (at byte %d)", se.Error(), se.Offset)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return "unexpected end of input (truncated record)"
	}
	return err.Error()
}
