// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package auditstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/policyaudit/policyaudit/internal/record"
)

// TimelineBucket counts the policy decisions of one time bucket by verdict:
// those enforced apart from those only observed (shadow mode, or a canary
// outside its cohort: the verdict did not decide what happened).
type TimelineBucket struct {
	Start    time.Time        `json:"start"`
	Enforced map[string]int64 `json:"enforced"`
	Observed map[string]int64 `json:"observed"`
}

// Timeline counts the policy decisions f selects (Since and Until are
// required) in buckets of step from Since, oldest first; a bucket without
// a decision is left out. It aggregates in SQL on the (event_kind,
// created_ms) index: one row a bucket and verdict comes back, not a record.
func (s *Store) Timeline(ctx context.Context, f Filter, step time.Duration) ([]TimelineBucket, error) {
	if f.Since.IsZero() || f.Until.IsZero() || !f.Since.Before(f.Until) {
		return nil, errors.New("timeline: a time range (since before until) is required")
	}
	if step < time.Millisecond {
		return nil, errors.New("timeline: a step of at least a millisecond is required")
	}
	f.EventKind = record.EventKindDecision
	where, args := f.conditions(s.pg)
	stepMS, since := step.Milliseconds(), f.Since.UnixMilli()
	q := `SELECT (created_ms - ?) / ? AS bucket, decision,
		rollout_mode = 'shadow' OR decision != effective_decision AS observed, COUNT(*)
		FROM records WHERE ` + strings.Join(where, " AND ") + `
		GROUP BY bucket, decision, observed ORDER BY bucket`
	rows, err := s.db.QueryContext(ctx, q, append([]any{since, stepMS}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("counting the timeline: %w", err)
	}
	defer rows.Close()
	var out []TimelineBucket
	for rows.Next() {
		var bucket, n int64
		var decision string
		var observed bool
		if err := rows.Scan(&bucket, &decision, &observed, &n); err != nil {
			return nil, fmt.Errorf("reading the timeline: %w", err)
		}
		start := time.UnixMilli(since + bucket*stepMS).UTC()
		if len(out) == 0 || !out[len(out)-1].Start.Equal(start) {
			out = append(out, TimelineBucket{Start: start, Enforced: map[string]int64{}, Observed: map[string]int64{}})
		}
		b := &out[len(out)-1]
		if observed {
			b.Observed[decision] += n
		} else {
			b.Enforced[decision] += n
		}
	}
	return out, rows.Err()
}
