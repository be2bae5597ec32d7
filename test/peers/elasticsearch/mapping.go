// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package elasticsearch

import (
	"fmt"
	"strconv"
	"time"
)

// fieldType is an Elasticsearch field type, as dynamic mapping chooses it
// or an index template sets it.
type fieldType string

const (
	typeKeyword fieldType = "keyword"
	typeLong    fieldType = "long"
	typeFloat   fieldType = "float"
	typeBoolean fieldType = "boolean"
	typeDate    fieldType = "date"
	typeObject  fieldType = "object"
)

// dynamicType is the type dynamic mapping gives a new field's first value:
// date detection is on (strings in a date format map to date), numeric
// detection off (numeric strings stay keyword).
func dynamicType(v any) fieldType {
	switch v := v.(type) {
	case map[string]any:
		return typeObject
	case bool:
		return typeBoolean
	case float64:
		if v == float64(int64(v)) {
			return typeLong
		}
		return typeFloat
	case string:
		if _, ok := parseDate(v); ok {
			return typeDate
		}
	}
	return typeKeyword
}

// parseDate accepts what dynamic date detection's default formats accept:
// strict_date_optional_time (an ISO 8601 date, optionally with a time) and
// yyyy/MM/dd.
func parseDate(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02", "2006/01/02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// accepts says why a value cannot be indexed into a field of type t, as
// Elasticsearch does with coercion on (numeric strings into numbers, numbers
// and booleans into keyword), or "".
func accepts(t fieldType, v any) string {
	ok := true
	switch t {
	case typeObject:
		_, ok = v.(map[string]any)
		if !ok {
			return "tried to parse field as object, but found a concrete value"
		}
	case typeKeyword:
		_, isObject := v.(map[string]any)
		ok = !isObject
	case typeLong, typeFloat:
		switch v := v.(type) {
		case float64:
		case string:
			_, err := strconv.ParseFloat(v, 64)
			ok = err == nil
		default:
			ok = false
		}
	case typeBoolean:
		switch v := v.(type) {
		case bool:
		case string:
			ok = v == "true" || v == "false" || v == ""
		default:
			ok = false
		}
	case typeDate:
		switch v := v.(type) {
		case float64:
		case string:
			_, ok = parseDate(v)
		default:
			ok = false
		}
	}
	if ok {
		return ""
	}
	return fmt.Sprintf("failed to parse field of type [%s]: %v", t, v)
}

// conflict is a value that does not fit its field's type.
type conflict struct{ path, reason string }

func (c *conflict) String() string { return "[" + c.path + "] " + c.reason }

// mapping is one backing index's field types by dotted path, extended by
// dynamic mapping as documents bring new fields.
type mapping map[string]fieldType

// index checks a document against the mapping and, if every field fits,
// adds the document's new fields. A document that conflicts adds nothing.
func (m mapping) index(src map[string]any) *conflict {
	added := mapping{}
	if err := m.walk("", src, added); err != nil {
		return err
	}
	for path, t := range added {
		m[path] = t
	}
	return nil
}

func (m mapping) walk(prefix string, obj map[string]any, added mapping) *conflict {
	for k, v := range obj {
		path := k
		if prefix != "" {
			path = prefix + "." + k
		}
		if err := m.value(path, v, added); err != nil {
			return err
		}
	}
	return nil
}

func (m mapping) value(path string, v any, added mapping) *conflict {
	switch v := v.(type) {
	case nil:
		return nil
	case []any: // an array is indexed as its elements, into one field
		for _, e := range v {
			if err := m.value(path, e, added); err != nil {
				return err
			}
		}
		return nil
	}
	t, known := m[path]
	if !known {
		t, known = added[path]
	}
	if !known {
		t = dynamicType(v)
		added[path] = t
	}
	if reason := accepts(t, v); reason != "" {
		return &conflict{path, reason}
	}
	if obj, ok := v.(map[string]any); ok {
		return m.walk(path, obj, added)
	}
	return nil
}
