// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package record_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/policyaudit/policyaudit/internal/record"
)

func nameWith(t *testing.T, n *record.Namer, in string) *record.Record {
	t.Helper()
	r, err := record.Normalize(decode(t, in), record.Hints{Kind: record.KindDecision})
	if err != nil {
		t.Fatal(err)
	}
	m := pcommon.NewMap()
	r.CopyTo(m)
	n.Name(r, m)
	assert.Equal(t, r.EventID, pdatajsonString(m, "event_id"))
	assert.Equal(t, r.CorrelationID, pdatajsonString(m, "correlation_id"))
	return r
}

func pdatajsonString(m pcommon.Map, k string) string {
	v, _ := m.Get(k)
	return v.Str()
}

func TestKeyedIdentifiers(t *testing.T) {
	const in = `{"policy_id":"p","decision":"deny","policy_user":"user-4711","ts":1768608000}`
	keyA := record.NewNamer([]byte("key-A-0123456789abcdef"))
	keyB := record.NewNamer([]byte("key-B-0123456789abcdef"))

	a := nameWith(t, keyA, in)
	assert.Equal(t, byte('8'), a.EventID[14], "keyed IDs are UUIDv8: %s", a.EventID)
	assert.Equal(t, byte('8'), a.CorrelationID[14], "keyed IDs are UUIDv8: %s", a.CorrelationID)
	assert.True(t, a.CorrelationGenerated)
	assert.Contains(t, "89ab", string(a.EventID[19]), "RFC 9562 variant")

	// Deterministic, whatever the input's key order: replays de-duplicate.
	again := nameWith(t, keyA, `{"ts":1768608000,"policy_user":"user-4711","decision":"deny","policy_id":"p"}`)
	assert.Equal(t, a.EventID, again.EventID)
	assert.Equal(t, a.CorrelationID, again.CorrelationID)

	// Another key, another ID; unkeyed IDs are UUIDv5 and differ too.
	assert.NotEqual(t, a.EventID, nameWith(t, keyB, in).EventID)
	plain := nameWith(t, unkeyed, in)
	assert.Equal(t, byte('5'), plain.EventID[14])
	assert.NotEqual(t, a.EventID, plain.EventID)

	// Identifiers the input carries are kept.
	given := nameWith(t, keyA, `{"event_id":"e-1","request_id":"r-1","policy_id":"p","decision":"deny","ts":1768608000}`)
	assert.Equal(t, "e-1", given.EventID)
	assert.Equal(t, "r-1", given.CorrelationID)
	assert.False(t, given.CorrelationGenerated)
}
