// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package record

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/policyaudit/policyaudit/internal/jsonbody"
)

// ValueOfMap is a pdata map body as the normaliser's input, read straight
// from pdata (no map[string]any in between), with invalid UTF-8 in keys and
// strings replaced by U+FFFD as encoding/json does when it decodes: a body
// from OTLP or filelog can carry any bytes, canonical records hold only
// valid UTF-8, so every destination, and the hash chain, sees the same text.
func ValueOfMap(m pcommon.Map) jsonbody.Value {
	v := jsonbody.Value{Kind: jsonbody.Object, Items: make([]jsonbody.Member, 0, m.Len())}
	for k, e := range m.All() {
		v.Items = append(v.Items, jsonbody.Member{Key: validText(k), Value: valueOf(e)})
	}
	return v
}

func valueOf(e pcommon.Value) jsonbody.Value {
	switch e.Type() {
	case pcommon.ValueTypeStr:
		return jsonbody.Value{Kind: jsonbody.String, Str: validText(e.Str())}
	case pcommon.ValueTypeBool:
		return jsonbody.Value{Kind: jsonbody.Bool, Bool: e.Bool()}
	case pcommon.ValueTypeInt:
		return jsonbody.Value{Kind: jsonbody.Int, Str: strconv.FormatInt(e.Int(), 10)}
	case pcommon.ValueTypeDouble:
		return jsonbody.Value{Kind: jsonbody.Float, Str: strconv.FormatFloat(e.Double(), 'g', -1, 64)}
	case pcommon.ValueTypeBytes:
		return jsonbody.Value{Kind: jsonbody.Bytes, Str: string(e.Bytes().AsRaw())}
	case pcommon.ValueTypeMap:
		return ValueOfMap(e.Map())
	case pcommon.ValueTypeSlice:
		s := e.Slice()
		v := jsonbody.Value{Kind: jsonbody.Array, Items: make([]jsonbody.Member, s.Len())}
		for i := range v.Items {
			v.Items[i].Value = valueOf(s.At(i))
		}
		return v
	}
	return jsonbody.Value{}
}

func validText(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}
