// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package pdatajson

import "go.opentelemetry.io/collector/pdata/pcommon"

// StringAt reads the string at a path of nested maps ("actor", "id"); "" when
// a step is missing or the value is not a string.
func StringAt(m pcommon.Map, path ...string) string {
	for i, k := range path {
		v, ok := m.Get(k)
		if !ok {
			return ""
		}
		if i == len(path)-1 {
			if v.Type() == pcommon.ValueTypeStr {
				return v.Str()
			}
			return ""
		}
		if v.Type() != pcommon.ValueTypeMap {
			return ""
		}
		m = v.Map()
	}
	return ""
}

// NumberAt reads the number (int or double) at path in m; false when absent
// or not a number.
func NumberAt(m pcommon.Map, path ...string) (float64, bool) {
	for i, k := range path {
		v, ok := m.Get(k)
		if !ok {
			return 0, false
		}
		if i < len(path)-1 {
			if v.Type() != pcommon.ValueTypeMap {
				return 0, false
			}
			m = v.Map()
			continue
		}
		switch v.Type() {
		case pcommon.ValueTypeInt:
			return float64(v.Int()), true
		case pcommon.ValueTypeDouble:
			return v.Double(), true
		}
	}
	return 0, false
}

// PutNonEmpty puts the string v at k unless v is empty: an absent field
// stays absent instead of becoming "".
func PutNonEmpty(m pcommon.Map, k, v string) {
	if v != "" {
		m.PutStr(k, v)
	}
}
