// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package record_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/policyaudit/policyaudit/internal/record"
)

// headerOf is the part of a Record ReadHeader reads back.
func headerOf(r *record.Record) record.Record {
	return record.Record{
		Kind: r.Kind, EventID: r.EventID, CreatedAt: r.CreatedAt.UTC().Truncate(1e6), CorrelationID: r.CorrelationID,
		CorrelationGenerated: r.CorrelationGenerated, TraceID: r.TraceID, SpanID: r.SpanID,
		Decision: r.Decision, EffectiveDecision: r.EffectiveDecision, RolloutMode: r.RolloutMode, Enforced: r.Enforced,
		PolicyID: r.PolicyID, PolicyVersion: r.PolicyVersion, Action: r.Action, Outcome: r.Outcome, SchemaError: r.SchemaError,
	}
}

// assertHeaderRoundTrip: what CopyTo writes, ReadHeader reads back the same.
func assertHeaderRoundTrip(t testing.TB, r *record.Record) {
	m := pcommon.NewMap()
	r.CopyTo(m)
	got, err := record.ReadHeader(m)
	require.NoError(t, err, "%v", m.AsRaw())
	assert.Equal(t, headerOf(r), headerOf(got))
}

func TestReadHeaderReadsWhatCopyToWrote(t *testing.T) {
	for _, rec := range allExpectedRecords(t) {
		assertHeaderRoundTrip(t, rec)
	}
	// A decision: the broken fields below include decision-only ones.
	m := pcommon.NewMap()
	normalizeFixture(t, "gateway-flat.ndjson")[0].CopyTo(m)
	for key, bad := range map[string]func(pcommon.Map){
		"schema_version": func(m pcommon.Map) { m.PutStr("schema_version", "2") },
		"event_kind":     func(m pcommon.Map) { m.Remove("event_kind") },
		"created_at":     func(m pcommon.Map) { m.PutStr("created_at", "yesterday") },
		"decision":       func(m pcommon.Map) { m.PutInt("decision", 1) },
		"enforced":       func(m pcommon.Map) { m.PutStr("enforced", "yes") },
	} {
		c := pcommon.NewMap()
		m.CopyTo(c)
		bad(c)
		_, err := record.ReadHeader(c)
		assert.ErrorContains(t, err, key)
	}
}

func allExpectedRecords(t *testing.T) []*record.Record {
	var out []*record.Record
	for _, name := range allFixtures() {
		out = append(out, normalizeFixture(t, name)...)
	}
	return out
}
