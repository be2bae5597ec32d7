// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package auditstore

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The timeline counts what the records say, bucket by bucket: enforced
// verdicts apart from observed ones (shadow, a canary outside its cohort),
// only the filter's decisions, nothing outside the range or of the other
// kind; the totals agree with Stats.
func TestTimelineCountsEachBucket(t *testing.T) {
	ctx := context.Background()
	s, _ := open(t)
	var entries []Entry
	for i := 0; i < 120; i++ { // one a second, two minutes
		fields := map[string]any{}
		switch {
		case i%10 == 0:
			fields = map[string]any{"decision": "deny", "effective_decision": "allow", "rollout_mode": "shadow", "enforced": false, "reason_code": "DENY"}
		case i%10 == 1:
			fields = map[string]any{"decision": "deny", "effective_decision": "allow", "rollout_mode": "canary", "enforced": false, "reason_code": "DENY"}
		case i%10 == 2:
			fields = map[string]any{"decision": "deny", "effective_decision": "deny", "rollout_mode": "canary", "reason_code": "DENY"}
		case i >= 60 && i%3 == 0:
			fields = map[string]any{"decision": "deny", "effective_decision": "deny", "reason_code": "DENY"}
		}
		if i%7 == 0 {
			fields["policy_id"] = "other"
		}
		entries = append(entries, decisionEntry(t, i, fields))
	}
	entries = append(entries, adminEntry(t, 1000, t0.Add(30*time.Second)))
	_, _, err := s.Append(ctx, entries)
	require.NoError(t, err)

	got, err := s.Timeline(ctx, Filter{PolicyID: "pi", Since: t0, Until: t0.Add(2 * time.Minute)}, time.Minute)
	require.NoError(t, err)
	require.Len(t, got, 2)
	// Count what the entries hold, the slow way, as the expectation.
	want := [2]TimelineBucket{{Start: t0, Enforced: map[string]int64{}, Observed: map[string]int64{}},
		{Start: t0.Add(time.Minute), Enforced: map[string]int64{}, Observed: map[string]int64{}}}
	for i := 0; i < 120; i++ {
		if i%7 == 0 {
			continue
		}
		b := &want[i/60]
		switch {
		case i%10 == 0 || i%10 == 1:
			b.Observed["deny"]++
		case i%10 == 2 || i >= 60 && i%3 == 0:
			b.Enforced["deny"]++
		default:
			b.Enforced["allow"]++
		}
	}
	assert.Equal(t, want[:], got)

	// Without a policy filter, the totals are Stats'.
	all, err := s.Timeline(ctx, Filter{Since: t0, Until: t0.Add(time.Hour)}, 10*time.Second)
	require.NoError(t, err)
	st, err := s.Stats(ctx, t0)
	require.NoError(t, err)
	total := map[string]int64{}
	for _, b := range all {
		for d, n := range b.Enforced {
			total[d] += n
		}
		for d, n := range b.Observed {
			total[d] += n
		}
	}
	assert.Equal(t, st.Decision, total)
	assert.Len(t, all, 12)

	_, err = s.Timeline(ctx, Filter{Since: t0}, time.Minute)
	assert.ErrorContains(t, err, "a time range")
}
