// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package gatewaysim

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/policyaudit/policyaudit/internal/dialect/opa"
	"github.com/policyaudit/policyaudit/internal/jsonbody"
	"github.com/policyaudit/policyaudit/internal/record"
)

// Every generated record, in every dialect, is valid under the contract,
// and the stream has the mix it promises: every verdict and rollout mode,
// policy versions that change, timestamps across midnight.
func TestGeneratedRecordsNormalise(t *testing.T) {
	start := time.Date(2026, 3, 1, 23, 30, 0, 0, time.UTC)
	g := NewGenerator(1, start, time.Hour, 4000)
	decisions, modes, versions, days := map[string]int{}, map[string]int{}, map[string]bool{}, map[string]bool{}
	dialects := map[Dialect]int{}
	for range 4000 {
		d := g.Dialect()
		dialects[d]++
		var raw map[string]any
		require.NoError(t, json.Unmarshal(g.Append(nil, d), &raw))
		var rec *record.Record
		var err error
		switch d {
		case OPA:
			var recs []*record.Record
			recs, err = opa.Normalize(nil, jsonbody.FromAny(raw), record.Hints{})
			require.Len(t, recs, 1)
			rec = recs[0]
		case Admin:
			rec, err = record.Normalize(raw, record.Hints{Kind: record.KindAdmin})
		default:
			rec, err = record.Normalize(raw, record.Hints{Kind: record.KindDecision})
		}
		require.NoError(t, err, "%s: %v", d, raw)
		if d != Admin {
			decisions[rec.Decision]++
			modes[rec.RolloutMode]++
		}
		versions[rec.PolicyVersion] = true
		days[rec.PartitionDate()] = true
	}
	assert.Len(t, decisions, 5, "every verdict")
	assert.Len(t, modes, 3, "enforced, shadow and canary")
	assert.Greater(t, decisions["allow"], decisions["deny"])
	assert.GreaterOrEqual(t, len(versions), 2, "versions change over the day")
	assert.Len(t, days, 2, "the hour crosses midnight")
	assert.Len(t, dialects, 4)
}
