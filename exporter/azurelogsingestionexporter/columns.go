// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package azurelogsingestionexporter

import (
	"strings"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/policyaudit/policyaudit/internal/pdatajson"
	"github.com/policyaudit/policyaudit/internal/record"
)

// Column is one column of a stream (and of its table): a Log Analytics
// name and type.
type Column struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// column is a Column with where its value comes from in the canonical
// record.
type column struct {
	Column
	path []string // field, or object and subfield
}

// timeGenerated is the column every Log Analytics table has; here it holds
// the record's created_at.
const timeGenerated = "TimeGenerated"

// columnsOf derives a kind's columns from the record's field definitions
// (internal/record/fields.go): created_at becomes TimeGenerated, every other
// field a column named in Pascal case (event_id is EventId), an object's
// fields a column each (actor.id is ActorId), lists and free-form objects
// dynamic.
func columnsOf(k record.Kind) []column {
	var cols []column
	for _, f := range record.FieldsOf(k) {
		switch {
		case f.Name == record.FieldCreatedAt:
			cols = append([]column{{Column: Column{timeGenerated, "datetime"}, path: []string{f.Name}}}, cols...)
		case f.Type == record.TypeObject:
			for _, sub := range f.Subfields {
				cols = append(cols, column{Column: Column{pascal(f.Name) + pascal(sub.Name), typeOf(sub.Type)}, path: []string{f.Name, sub.Name}})
			}
		default:
			cols = append(cols, column{Column: Column{pascal(f.Name), typeOf(f.Type)}, path: []string{f.Name}})
		}
	}
	return cols
}

// Columns lists a kind's stream columns, as the DCR must declare them.
func Columns(k record.Kind) []Column {
	cols := columnsOf(k)
	out := make([]Column, len(cols))
	for i, c := range cols {
		out[i] = c.Column
	}
	return out
}

func pascal(name string) string {
	var b strings.Builder
	for _, part := range strings.Split(name, "_") {
		if part != "" {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}

func typeOf(t record.FieldType) string {
	switch t {
	case record.TypeBool:
		return "boolean"
	case record.TypeTime:
		return "datetime"
	case record.TypeStrings, record.TypeFree:
		return "dynamic"
	}
	return "string"
}

// maxValueBytes is the largest value the service stores whole; it
// truncates longer ones, and so does the exporter, before sending.
const maxValueBytes = 64 << 10

// maxRowBytes is the largest row: one call's body less its brackets.
const maxRowBytes = maxCallBytes - 2

// appendRow appends the row of a canonical record as a JSON object: each
// column the record has a value for, in column order, every value cut at
// 64 KB. A row that would still not fit a call (a hostile record can fill
// thirty fields with 64 KB of characters that JSON escapes six times over)
// is written again with each value's encoding cut to an equal share of the
// call, so every record fits one: none is refused for its size.
func appendRow(dst []byte, cols []column, m pcommon.Map) []byte {
	start := len(dst)
	if dst = appendRowCapped(dst, cols, m, maxRowBytes); len(dst)-start <= maxRowBytes {
		return dst
	}
	share := (maxRowBytes - 2) / len(cols)
	keys := 0
	for _, c := range cols {
		keys += len(c.Name) + 4 // "name":,
	}
	return appendRowCapped(dst[:start], cols, m, share-keys/len(cols)-1)
}

func appendRowCapped(dst []byte, cols []column, m pcommon.Map, limit int) []byte {
	dst = append(dst, '{')
	first := true
	for _, c := range cols {
		v, ok := valueAt(m, c.path)
		if !ok {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = pdatajson.AppendString(dst, c.Name)
		dst = append(dst, ':')
		dst = appendValue(dst, c, v, limit)
	}
	return append(dst, '}')
}

func valueAt(m pcommon.Map, path []string) (pcommon.Value, bool) {
	v, ok := m.Get(path[0])
	if !ok || len(path) == 1 {
		return v, ok
	}
	if v.Type() != pcommon.ValueTypeMap {
		return pcommon.Value{}, false
	}
	return v.Map().Get(path[1])
}

// appendValue writes v as the column's type takes it; a value over
// maxValueBytes is cut there, as the service would (a dynamic value then
// arrives as the start of its JSON text), and its encoding is kept within
// limit bytes.
func appendValue(dst []byte, c column, v pcommon.Value, limit int) []byte {
	switch {
	case c.Type == "boolean" && v.Type() == pcommon.ValueTypeBool:
		if v.Bool() {
			return append(dst, "true"...)
		}
		return append(dst, "false"...)
	case c.Type == "dynamic":
		start := len(dst)
		dst = pdatajson.AppendValue(dst, v)
		if n := len(dst) - start; n <= maxValueBytes && n <= limit {
			return dst
		}
		text := string(dst[start:])
		return appendString(dst[:start], truncate(text, maxValueBytes), limit)
	default:
		return appendString(dst, truncate(v.AsString(), maxValueBytes), limit)
	}
}

// appendString writes s as a JSON string of at most limit bytes, cutting s
// (at a character boundary) as much as its escaping requires.
func appendString(dst []byte, s string, limit int) []byte {
	start := len(dst)
	for {
		dst = pdatajson.AppendString(dst[:start], s)
		n := len(dst) - start
		if n <= limit || s == "" {
			return dst
		}
		s = truncate(s, len(s)*limit/n)
	}
}

// truncate cuts s to at most n bytes, at a character boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
