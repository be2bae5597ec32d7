// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package dialect

import (
	"encoding/json"
	"sort"
	"strings"

	"github.com/policyaudit/policyaudit/internal/record"
)

// Helpers of the dialects that reshape a gateway's payload into the flat
// dialect (the record contract's own field names) before normalising it.

// SortedNames is a list of names, sorted, as an input list value.
func SortedNames(names []string) []any {
	sort.Strings(names)
	list := make([]any, len(names))
	for i, s := range names {
		list[i] = s
	}
	return list
}

// SetFirst sets key to the first value that is not nil, if any.
func SetFirst(f map[string]any, key string, values ...any) {
	for _, v := range values {
		if v != nil {
			f[key] = v
			return
		}
	}
}

// NonEmpty is v, or nil for an empty string.
func NonEmpty(v any) any {
	if s, ok := v.(string); ok && s == "" {
		return nil
	}
	return v
}

// StringOf is a string or number as text, else "".
func StringOf(v any) string {
	s, _ := record.ScalarString(v)
	return s
}

// SplitList is comma-separated reasons as one sorted list of names.
func SplitList(texts ...string) []any {
	seen := map[string]bool{}
	var out []string
	for _, t := range texts {
		for _, p := range strings.Split(t, ",") {
			if p = strings.TrimSpace(p); p != "" && !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	return SortedNames(out)
}

// FirstString is the first of values that is a non-empty string or number.
func FirstString(values ...any) string {
	for _, v := range values {
		if s := StringOf(v); s != "" {
			return s
		}
	}
	return ""
}

// Categories are violation_categories as a list of names (a map's keys
// when given as scores by category).
func Categories(v any) any {
	if m, ok := v.(map[string]any); ok {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		return SortedNames(keys)
	}
	return v
}

// MaskedEntities adds up masked_entity_count: a number, or counts by entity type.
func MaskedEntities(v any) float64 {
	switch x := v.(type) {
	case json.Number:
		f, _ := x.Float64()
		return f
	case float64:
		return x
	case map[string]any:
		total := 0.0
		for _, c := range x {
			total += MaskedEntities(c)
		}
		return total
	}
	return 0
}
