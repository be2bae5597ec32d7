// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package record_test

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/policyaudit/policyaudit/internal/record"
)

// ReadCanonical accepts what CopyTo wrote, in CopyTo's order or in any
// other, and refuses a map with a field added, retyped or changed, at the
// top or inside an object.
func TestReadCanonicalAcceptsCopyToInAnyOrder(t *testing.T) {
	for _, rec := range allExpectedRecords(t) {
		m := pcommon.NewMap()
		rec.CopyTo(m)
		got, err := record.ReadCanonical(m)
		require.NoError(t, err, "%v", m.AsRaw())
		again := pcommon.NewMap()
		got.CopyTo(again)
		assert.True(t, again.Equal(m))

		reversed := pcommon.NewMap()
		keys := slices.Collect(func(yield func(string) bool) {
			for k := range m.All() {
				if !yield(k) {
					return
				}
			}
		})
		slices.Reverse(keys)
		for _, k := range keys {
			v, _ := m.Get(k)
			v.CopyTo(reversed.PutEmpty(k))
		}
		_, err = record.ReadCanonical(reversed)
		assert.NoError(t, err, "the same fields in reverse order")
	}

	for name, change := range map[string]func(m pcommon.Map){
		"an added field":         func(m pcommon.Map) { m.PutStr("prompt", "hello") },
		"a retyped field":        func(m pcommon.Map) { m.PutStr("correlation_generated", "true") },
		"an actor field retyped": func(m pcommon.Map) { a, _ := m.Get("actor"); a.Map().PutInt("ip", 1) },
		"an actor field added":   func(m pcommon.Map) { a, _ := m.Get("actor"); a.Map().PutStr("email", "x@example.com") },
		"details not an object":  func(m pcommon.Map) { m.PutStr("details", "{}") },
		"an empty optional":      func(m pcommon.Map) { m.PutStr("trace_id", "") },
	} {
		rec := normalizeFixture(t, "admin-audit.ndjson")[0]
		m := pcommon.NewMap()
		rec.CopyTo(m)
		change(m)
		_, err := record.ReadCanonical(m)
		assert.Error(t, err, name)
	}
}
