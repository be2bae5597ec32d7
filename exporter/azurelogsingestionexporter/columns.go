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
	path  []string // field, or object and subfield
	field record.FieldType
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
			cols = append([]column{{Column: Column{timeGenerated, "datetime"}, path: []string{f.Name}, field: f.Type}}, cols...)
		case f.Type == record.TypeObject:
			for _, sub := range f.Subfields {
				cols = append(cols, column{Column: Column{pascal(f.Name) + pascal(sub.Name), typeOf(sub.Type)}, path: []string{f.Name, sub.Name}, field: sub.Type})
			}
		default:
			cols = append(cols, column{Column: Column{pascal(f.Name), typeOf(f.Type)}, path: []string{f.Name}, field: f.Type})
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

// appendRow appends the row of a canonical record as a JSON object: each
// column the record has a value for, in column order.
func appendRow(dst []byte, cols []column, m pcommon.Map) []byte {
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
		dst = appendValue(dst, c, v)
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
// arrives as the start of its JSON text).
func appendValue(dst []byte, c column, v pcommon.Value) []byte {
	switch {
	case c.Type == "boolean" && v.Type() == pcommon.ValueTypeBool:
		if v.Bool() {
			return append(dst, "true"...)
		}
		return append(dst, "false"...)
	case c.Type == "dynamic":
		start := len(dst)
		dst = pdatajson.AppendValue(dst, v)
		if len(dst)-start <= maxValueBytes {
			return dst
		}
		text := string(dst[start:])
		return pdatajson.AppendString(dst[:start], truncate(text))
	default:
		return pdatajson.AppendString(dst, truncate(v.AsString()))
	}
}

// truncate cuts s to at most maxValueBytes, at a character boundary.
func truncate(s string) string {
	if len(s) <= maxValueBytes {
		return s
	}
	cut := maxValueBytes
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}
