package record

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
)

// input wraps one decoded input object and remembers which keys a mapping
// consumed, so everything else can be kept under extra instead of being
// dropped. Dotted names ("policy.id") are looked up as a flat key first (the
// OpenTelemetry attribute style) and then one level down (nested objects).
type input struct {
	m    map[string]any
	used []string // consumed keys: "policy" or "policy.id"
}

func newInput(m map[string]any) *input {
	return &input{m: m, used: make([]string, 0, len(m))}
}

func (in *input) markUsed(key string) { in.used = append(in.used, key) }

func (in *input) isUsed(key string) bool {
	for _, u := range in.used {
		if u == key {
			return true
		}
	}
	return false
}

// lookup returns the value of name without consuming it. Null counts as absent.
func (in *input) lookup(name string) (any, string, bool) {
	if v, ok := in.m[name]; ok && v != nil {
		return v, name, true
	}
	parent, child, nested := strings.Cut(name, ".")
	if !nested {
		return nil, "", false
	}
	obj, ok := in.m[parent].(map[string]any)
	if !ok {
		return nil, "", false
	}
	if v, ok := obj[child]; ok && v != nil {
		return v, name, true
	}
	return nil, "", false
}

// first returns the value of the first present name, consuming it.
func (in *input) first(names ...string) (any, string, bool) {
	for _, n := range names {
		if v, key, ok := in.lookup(n); ok {
			in.markUsed(key)
			return v, n, true
		}
	}
	return nil, "", false
}

// firstString is first with the value coerced to a string. Numbers become their
// decimal text (a policy version of 7 is "7"); other types are an error.
func (in *input) firstString(field string, names ...string) (string, error) {
	v, name, ok := in.first(names...)
	if !ok {
		return "", nil
	}
	s, ok := scalarString(v)
	if !ok {
		return "", fieldErr(field, ReasonInvalidType, "%q must be a string, got %s", name, typeName(v))
	}
	return s, nil
}

// remaining returns the input keys no mapping consumed, with JSON numbers
// converted for pdata. A nested object some of whose keys were consumed keeps
// only the rest; if nothing is left of it, it is omitted.
func (in *input) remaining() map[string]any {
	var extra map[string]any
	put := func(k string, v any) {
		if extra == nil {
			extra = make(map[string]any)
		}
		extra[k] = v
	}
	for k, v := range in.m {
		if in.isUsed(k) {
			continue
		}
		obj, isObj := v.(map[string]any)
		if !isObj || !in.anyChildUsed(k) {
			put(k, plainValue(v))
			continue
		}
		rest := make(map[string]any)
		for ck, cv := range obj {
			if !in.isUsed(k + "." + ck) {
				rest[ck] = plainValue(cv)
			}
		}
		if len(rest) > 0 {
			put(k, rest)
		}
	}
	return extra
}

func (in *input) anyChildUsed(parent string) bool {
	for _, u := range in.used {
		if len(u) > len(parent) && u[len(parent)] == '.' && strings.HasPrefix(u, parent) {
			return true
		}
	}
	return false
}

// ScalarString renders strings and numbers (as decoded from JSON) as
// strings; false for any other value.
func ScalarString(v any) (string, bool) { return scalarString(v) }

// scalarString renders strings and numbers as strings.
func scalarString(v any) (string, bool) {
	switch t := v.(type) {
	case string:
		return t, true
	case json.Number:
		return t.String(), true
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64), true
	case int64:
		return strconv.FormatInt(t, 10), true
	case int:
		return strconv.Itoa(t), true
	}
	return "", false
}

// stringList accepts a list of strings (numbers are rendered), a single string,
// or null. Anything else is a type error on field.
func stringList(field string, v any) ([]string, error) {
	switch t := v.(type) {
	case nil:
		return []string{}, nil
	case string:
		return []string{t}, nil
	case []any:
		out := make([]string, 0, len(t))
		for i, e := range t {
			s, ok := scalarString(e)
			if !ok {
				return nil, fieldErr(field, ReasonInvalidType, "element %d must be a string, got %s", i, typeName(e))
			}
			out = append(out, s)
		}
		return out, nil
	case []string:
		return t, nil
	}
	return nil, fieldErr(field, ReasonInvalidType, "must be a list of strings, got %s", typeName(v))
}

// plainValue converts json.Number (from a decoder with UseNumber) into int64 or
// float64, recursively, so the value can be stored in pdata.
func plainValue(v any) any {
	switch t := v.(type) {
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return i
		}
		if f, err := t.Float64(); err == nil && !math.IsInf(f, 0) {
			return f
		}
		return t.String()
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = plainValue(e)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = plainValue(e)
		}
		return out
	}
	return v
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case json.Number, float64, int64, int:
		return "a number"
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	}
	return "an unsupported value"
}
