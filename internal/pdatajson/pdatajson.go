// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

// Package pdatajson writes pdata values as plain JSON (not OTLP/JSON): a map
// becomes an object with its keys in insertion order, a slice an array, bytes a
// base64 string. It is what a JSON-lines destination wants from a log body.
package pdatajson // import "github.com/policyaudit/policyaudit/internal/pdatajson"
import (
	"encoding/base64"
	"math"
	"strconv"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// AppendValue appends v as JSON to dst.
func AppendValue(dst []byte, v pcommon.Value) []byte {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return AppendString(dst, v.Str())
	case pcommon.ValueTypeInt:
		return strconv.AppendInt(dst, v.Int(), 10)
	case pcommon.ValueTypeDouble:
		return appendFloat(dst, v.Double())
	case pcommon.ValueTypeBool:
		return strconv.AppendBool(dst, v.Bool())
	case pcommon.ValueTypeMap:
		return AppendMap(dst, v.Map())
	case pcommon.ValueTypeSlice:
		s := v.Slice()
		dst = append(dst, '[')
		for i := 0; i < s.Len(); i++ {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = AppendValue(dst, s.At(i))
		}
		return append(dst, ']')
	case pcommon.ValueTypeBytes:
		dst = append(dst, '"')
		dst = base64.StdEncoding.AppendEncode(dst, v.Bytes().AsRaw())
		return append(dst, '"')
	default:
		return append(dst, "null"...)
	}
}

// AppendMap appends m as a JSON object, keys in insertion order.
func AppendMap(dst []byte, m pcommon.Map) []byte {
	dst = append(dst, '{')
	first := true
	m.Range(func(k string, v pcommon.Value) bool {
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = AppendString(dst, k)
		dst = append(dst, ':')
		dst = AppendValue(dst, v)
		return true
	})
	return append(dst, '}')
}

// appendFloat formats like encoding/json: shortest representation, exponent
// only for very large or small magnitudes; NaN and infinities become null.
func appendFloat(dst []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(dst, "null"...)
	}
	abs := math.Abs(f)
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		return strconv.AppendFloat(dst, f, 'e', -1, 64)
	}
	return strconv.AppendFloat(dst, f, 'f', -1, 64)
}

// AppendString appends s as a JSON string, in the canonical form (see
// canonical.go): JSON-lines destinations and the hash chain write strings
// alike. HTML characters are not escaped (this is not for HTML).
func AppendString(dst []byte, s string) []byte {
	return appendCanonicalString(dst, s)
}
