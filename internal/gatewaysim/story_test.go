// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package gatewaysim

import (
	"bufio"
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/policyaudit/policyaudit/internal/dialect/opa"
	"github.com/policyaudit/policyaudit/internal/jsonbody"
	"github.com/policyaudit/policyaudit/internal/record"
)

// The story of Edit, as the sender builds its requests: the total is what
// was asked, the edit is one policy.update at its time, sent alone, and the
// edited policy denies far more after it under a new version while the
// other policies do not change; the span's other admin events are four key
// and model changes, each alone.
func TestEditTightensOnePolicyAtItsTime(t *testing.T) {
	start := time.Date(2026, 12, 5, 14, 0, 0, 0, time.UTC)
	const total = 12000
	g := NewGenerator(3, start, time.Hour, total)
	g.Edit(30 * time.Minute)
	opts := Options{Records: total, Batch: 500}

	var recs []*record.Record
	var admin []*record.Record
	for sent := 0; sent < total; {
		r := build(g, opts, min(opts.Batch, total-sent))
		sent += r.records
		lines := r.body
		if r.path == "/v1/opa/logs" {
			var events []map[string]any
			require.NoError(t, json.Unmarshal(r.body, &events))
			for _, e := range events {
				var err error
				recs, err = opa.Normalize(recs, jsonbody.FromAny(e), record.Hints{})
				require.NoError(t, err)
			}
			continue
		}
		kind := record.KindDecision
		if r.path == "/v1/audit" {
			kind = record.KindAdmin
			assert.Equal(t, 1, r.records, "an admin event of the story is sent alone")
		}
		sc := bufio.NewScanner(bytes.NewReader(lines))
		for sc.Scan() {
			var raw map[string]any
			require.NoError(t, json.Unmarshal(sc.Bytes(), &raw))
			rec, err := record.Normalize(raw, record.Hints{Kind: kind})
			require.NoError(t, err, sc.Text())
			if kind == record.KindAdmin {
				admin = append(admin, rec)
			} else {
				recs = append(recs, rec)
			}
		}
	}
	require.Equal(t, total, len(recs)+len(admin))

	require.Len(t, admin, 5)
	var edits []*record.Record
	for i, a := range admin {
		if strings.HasPrefix(a.Action, "policy.") || a.Resource.Type == "policy" {
			edits = append(edits, a)
			continue
		}
		assert.Contains(t, []string{"api_key", "model"}, a.Resource.Type, "the other admin events change keys and models")
		if i > 0 {
			assert.True(t, a.CreatedAt.After(admin[i-1].CreatedAt))
		}
	}
	require.Len(t, edits, 1, "one policy change")
	edit := edits[0]
	assert.Equal(t, "policy.update", edit.Action)
	assert.Equal(t, EditedPolicy, edit.PolicyID)
	assert.Equal(t, EditActor, edit.Actor.ID)
	assert.Equal(t, start.Add(30*time.Minute), edit.CreatedAt, "at its time exactly")

	denyRate := func(policy string, after bool) float64 {
		var deny, all float64
		for _, r := range recs {
			if r.PolicyID != policy || r.CreatedAt.After(edit.CreatedAt) != after {
				continue
			}
			all++
			if r.Decision == record.DecisionDeny {
				deny++
			}
			if policy == EditedPolicy {
				assert.Equal(t, after, strings.HasSuffix(r.PolicyVersion, "-r2"), "the new version from the edit on: %s at %s", r.PolicyVersion, r.CreatedAt)
			}
		}
		return deny / all
	}
	assert.Greater(t, denyRate(EditedPolicy, true), 3*denyRate(EditedPolicy, false), "the edited policy denies far more after the edit")
	assert.InDelta(t, denyRate("pii-shield", false), denyRate("pii-shield", true), 0.05, "another policy is unchanged")
}
