// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package dialect_test

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/policyaudit/policyaudit/internal/dialect"
	"github.com/policyaudit/policyaudit/internal/jsonbody"
)

// An Object holds each key once, as a map does, however many it has (past
// a few it finds them by an index), and so do Members of a decoded object.
func TestObjectKeysOnce(t *testing.T) {
	for _, n := range []int{3, 40} {
		want := map[string]any{}
		var o dialect.Object
		for round := 0; round < 2; round++ {
			for i := 0; i < n; i++ {
				k, v := "k"+strconv.Itoa(i), strconv.Itoa(round)+"."+strconv.Itoa(i)
				o.SetString(k, v)
				want[k] = v
			}
		}
		for i := 0; i < n; i += 2 {
			o.Delete("k" + strconv.Itoa(i))
			delete(want, "k"+strconv.Itoa(i))
		}
		o.SetString("k0", "again")
		want["k0"] = "again"
		o.Delete("absent")
		assert.Equal(t, len(want), o.Len())
		v := o.Value()
		assert.Equal(t, want, v.Interface(), "n=%d", n)
		for k := range want {
			assert.True(t, o.Has(k), k)
		}
		assert.False(t, o.Has("k2"))

		members := dialect.Members(&jsonbody.Value{Kind: jsonbody.Object, Items: append(append([]jsonbody.Member{}, v.Items...), v.Items...)})
		require.Len(t, members, len(want))
		got := jsonbody.Value{Kind: jsonbody.Object, Items: members}
		assert.Equal(t, want, got.Interface())
	}
}

// Same is Go's == on the decoded values, and never panics.
func TestSame(t *testing.T) {
	str := func(k jsonbody.Kind, s string) *jsonbody.Value { return &jsonbody.Value{Kind: k, Str: s} }
	obj := &jsonbody.Value{Kind: jsonbody.Object, Items: []jsonbody.Member{{Key: "a"}}}
	copied := *obj
	other := &jsonbody.Value{Kind: jsonbody.Object, Items: []jsonbody.Member{{Key: "a"}}}
	for _, c := range []struct {
		a, b *jsonbody.Value
		same bool
	}{
		{str(jsonbody.String, "x"), str(jsonbody.String, "x"), true},
		{str(jsonbody.String, "7"), str(jsonbody.Number, "7"), false},
		{str(jsonbody.Number, "7"), str(jsonbody.Number, "7.0"), false}, // json.Number compares its text
		{str(jsonbody.Float, "-0"), str(jsonbody.Float, "0"), true},
		{str(jsonbody.Float, "NaN"), str(jsonbody.Float, "NaN"), false},
		{&jsonbody.Value{Kind: jsonbody.Bool, Bool: true}, &jsonbody.Value{Kind: jsonbody.Bool}, false},
		{obj, &copied, true},
		{obj, other, false},
		{nil, str(jsonbody.String, ""), false},
	} {
		assert.Equal(t, c.same, dialect.Same(c.a, c.b), "%+v %+v", c.a, c.b)
	}
}
