// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package auditstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/policyaudit/policyaudit/internal/pdatajson"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// decisionEntry is a canonical policy decision as the processor writes it.
func decisionEntry(t testing.TB, i int, fields map[string]any) Entry {
	rec := map[string]any{
		"schema_version": "1", "event_kind": "policy_decision",
		"event_id":       fmt.Sprintf("ev-%06d", i),
		"created_at":     t0.Add(time.Duration(i) * time.Second).Format("2006-01-02T15:04:05.000Z"),
		"correlation_id": fmt.Sprintf("corr-%d", i%100),
		"decision":       "allow", "effective_decision": "allow", "rollout_mode": "enforced", "enforced": true,
		"reason_code": "ALLOW", "policy_id": "pi", "policy_version": "1", "policy_user": "alice",
		"model": "gpt-4.1", "project_id": "support-bot",
		"triggered_categories": []any{}, "allowlist_hits": []any{}, "denylist_hits": []any{},
		"extra": map[string]any{"score": 0.25, "n": json.Number("3")},
	}
	for k, v := range fields {
		rec[k] = v
	}
	return entryOf(t, rec)
}

func adminEntry(t testing.TB, i int, at time.Time) Entry {
	return entryOf(t, map[string]any{
		"schema_version": "1", "event_kind": "admin_audit", "event_id": fmt.Sprintf("adm-%06d", i),
		"created_at": at.Format("2006-01-02T15:04:05.000Z"), "correlation_id": fmt.Sprintf("adm-req-%d", i),
		"actor": map[string]any{"id": "carol@example.com", "type": "user"}, "action": "policy.update",
		"resource": map[string]any{"type": "policy", "id": "pi"}, "outcome": "success",
		"policy_id": "pi", "policy_version": "2",
	})
}

func entryOf(t testing.TB, rec map[string]any) Entry {
	b, err := pdatajson.AppendCanonicalAny(nil, rec)
	require.NoError(t, err)
	cols, err := ColumnsOfMap(rec)
	require.NoError(t, err)
	return Entry{Columns: cols, Record: b}
}

func open(t testing.TB, opts ...Option) (*Store, string) {
	path := filepath.Join(t.TempDir(), "audit.db")
	s, err := Open(context.Background(), path, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s, path
}

func seq(rows []Row) []int64 {
	out := make([]int64, len(rows))
	for i, r := range rows {
		out[i] = r.Seq
	}
	return out
}

func TestAppendIsIdempotentOnEventID(t *testing.T) {
	ctx := context.Background()
	s, path := open(t)
	batch := []Entry{decisionEntry(t, 1, nil), decisionEntry(t, 2, nil), decisionEntry(t, 1, nil)}
	stored, dup, err := s.Append(ctx, batch)
	require.NoError(t, err)
	assert.Equal(t, 2, stored)
	assert.Equal(t, 1, dup, "a duplicate inside a batch")
	stored, dup, err = s.Append(ctx, batch)
	require.NoError(t, err)
	assert.Equal(t, 0, stored)
	assert.Equal(t, 3, dup, "a replayed batch stores nothing")
	assert.Equal(t, int64(2), s.Head().Seq)

	// The chain survives a restart.
	require.NoError(t, s.Close())
	s2, err := Open(ctx, path)
	require.NoError(t, err)
	defer s2.Close()
	stored, _, err = s2.Append(ctx, []Entry{decisionEntry(t, 3, nil)})
	require.NoError(t, err)
	assert.Equal(t, 1, stored)
	rep, err := s2.Verify(ctx)
	require.NoError(t, err)
	assert.True(t, rep.OK, rep.Problem)
	assert.Equal(t, int64(3), rep.Records)
	assert.Equal(t, s2.Head(), rep.Head)
}

func TestQueryFiltersAndPagination(t *testing.T) {
	ctx := context.Background()
	s, _ := open(t)
	var entries []Entry
	for i := 0; i < 50; i++ {
		f := map[string]any{}
		if i%5 == 0 {
			f = map[string]any{"decision": "deny", "effective_decision": "allow", "rollout_mode": "shadow", "enforced": false, "reason_code": "JAILBREAK"}
		}
		if i >= 40 {
			f["policy_version"] = "2"
			f["policy_user"] = "bob"
			f["model"] = "claude-haiku"
			f["project_id"] = "crm"
		}
		entries = append(entries, decisionEntry(t, i, f))
	}
	entries = append(entries, adminEntry(t, 1, t0.Add(30*time.Second)))
	_, _, err := s.Append(ctx, entries)
	require.NoError(t, err)

	count := func(f Filter) int {
		f.Limit = 1000
		rows, _, err := s.Query(ctx, f)
		require.NoError(t, err)
		return len(rows)
	}
	assert.Equal(t, 51, count(Filter{}))
	assert.Equal(t, 50, count(Filter{EventKind: "policy_decision"}))
	assert.Equal(t, 1, count(Filter{EventKind: "admin_audit"}))
	assert.Equal(t, 1, count(Filter{CorrelationID: "corr-7"}))
	assert.Equal(t, 10, count(Filter{User: "bob"}))
	assert.Equal(t, 10, count(Filter{Decision: "deny"}))
	assert.Equal(t, 10, count(Filter{EffectiveDecision: "allow", RolloutMode: "shadow"}))
	assert.Equal(t, 50, count(Filter{EffectiveDecision: "allow", EventKind: "policy_decision"}), "shadow denies went through")
	assert.Equal(t, 40, count(Filter{PolicyID: "pi", PolicyVersion: "1"}))
	assert.Equal(t, 11, count(Filter{PolicyVersion: "2"}), "the admin event that produced version 2 too")
	assert.Equal(t, 10, count(Filter{Model: "claude-haiku"}))
	assert.Equal(t, 10, count(Filter{ProjectID: "crm"}))
	assert.Equal(t, 10, count(Filter{Since: t0.Add(10 * time.Second), Until: t0.Add(20 * time.Second), EventKind: "policy_decision"}))

	// Newest first, pages of 7 until the end, no record twice.
	var all []int64
	cursor := ""
	for pages := 0; ; pages++ {
		require.Less(t, pages, 10)
		rows, next, err := s.Query(ctx, Filter{EventKind: "policy_decision", Limit: 7, Cursor: cursor})
		require.NoError(t, err)
		all = append(all, seq(rows)...)
		if next == "" {
			break
		}
		cursor = next
	}
	require.Len(t, all, 50)
	for i := range all {
		assert.Equal(t, int64(50-i), all[i], "newest created_at first")
	}
	_, _, err = s.Query(ctx, Filter{Limit: 1, Cursor: "bogus!"})
	assert.ErrorIs(t, err, ErrBadCursor)

	row, ok, err := s.Get(ctx, "ev-000007")
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, int64(8), row.Seq)
	assert.JSONEq(t, string(entries[7].Record), string(row.Record))
	_, ok, err = s.Get(ctx, "nope")
	require.NoError(t, err)
	assert.False(t, ok)

	st, err := s.Stats(ctx, t0)
	require.NoError(t, err)
	assert.Equal(t, int64(50), st.Total)
	assert.Equal(t, map[string]int64{"allow": 40, "deny": 10}, st.Decision)
	assert.Equal(t, map[string]int64{"ALLOW": 40, "JAILBREAK": 10}, st.ReasonCode)
	assert.Equal(t, map[string]int64{"enforced": 40, "shadow": 10}, st.RolloutMode)
	assert.Equal(t, map[string]int64{"1": 40, "2": 10}, st.PolicyVersion)
}

// Every kind of tampering with the database file is detected, and the
// verification names the first bad seq.
func TestTamperingIsDetected(t *testing.T) {
	for _, tc := range []struct {
		name   string
		sql    string
		bad    int64
		reopen bool // the tampering happened while no collector held the chain head
	}{
		{"change a record", `UPDATE records SET record = replace(record, '"allow"', '"deny"') WHERE seq = 4`, 4, false},
		{"change an indexed column", `UPDATE records SET decision = 'deny' WHERE seq = 5`, 5, false},
		{"change a hash", `UPDATE records SET hash = '` + genesisHash + `' WHERE seq = 5`, 5, false},
		{"delete a row", `DELETE FROM records WHERE seq = 6`, 6, false},
		{"delete the last row", `DELETE FROM records WHERE seq = 10`, 10, false},
		{"insert a row", `INSERT INTO records SELECT 2, 'forged', event_kind, created_ms, stored_ms, correlation_id, user, decision, effective_decision, policy_id, policy_version, rollout_mode, model, project_id, reason_code, action, record, prev_hash, hash, chain, input_tokens, output_tokens, total_tokens, cost, currency FROM records WHERE seq = 5`, 2, false},
		{"append a forged row", `INSERT INTO records SELECT 12, 'forged', event_kind, created_ms, stored_ms, correlation_id, user, decision, effective_decision, policy_id, policy_version, rollout_mode, model, project_id, reason_code, action, record, hash, hash, chain, input_tokens, output_tokens, total_tokens, cost, currency FROM records WHERE seq = 10`, 11, true},
		{"reorder rows", `UPDATE records SET seq = CASE seq WHEN 7 THEN -7 WHEN 8 THEN 7 END WHERE seq IN (7, 8); UPDATE records SET seq = 8 WHERE seq = -7`, 7, false},
		{"change the checkpoint", `UPDATE checkpoint SET hash = '` + genesisHash + `'`, 4, false},
		{"move the checkpoint", `UPDATE checkpoint SET seq = 2`, 3, false},
		{"delete the checkpoint", `DELETE FROM checkpoint`, 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			now := t0
			s, path := open(t, WithClock(func() time.Time { return now }))
			for i := 1; i <= 10; i++ {
				if i == 4 {
					now = now.Add(48 * time.Hour) // seq 1-3 are older and get purged
				}
				_, _, err := s.Append(ctx, []Entry{decisionEntry(t, i, nil)})
				require.NoError(t, err)
			}
			purged, err := s.Purge(ctx, t0.Add(24*time.Hour))
			require.NoError(t, err)
			require.Equal(t, int64(3), purged)
			rep, err := s.Verify(ctx)
			require.NoError(t, err)
			require.True(t, rep.OK, rep.Problem)
			require.Equal(t, Link{Seq: 3, Hash: rep.Checkpoint.Hash}, rep.Checkpoint)

			raw, err := sql.Open("sqlite", "file:"+path)
			require.NoError(t, err)
			_, err = raw.Exec(tc.sql)
			require.NoError(t, err)
			require.NoError(t, raw.Close())

			verifier := s
			if tc.reopen {
				require.NoError(t, s.Close())
				verifier, err = Open(ctx, path)
				require.NoError(t, err)
				defer verifier.Close()
			}
			rep, err = verifier.Verify(ctx)
			require.NoError(t, err)
			assert.False(t, rep.OK)
			assert.Equal(t, tc.bad, rep.FirstBad, rep.Problem)
			assert.NotEmpty(t, rep.Problem)
		})
	}
}

func TestRetentionKeepsTheChainVerifiable(t *testing.T) {
	ctx := context.Background()
	now := t0
	s, _ := open(t, WithClock(func() time.Time { return now }))
	for day := 0; day < 5; day++ {
		for i := 0; i < 4; i++ {
			_, _, err := s.Append(ctx, []Entry{decisionEntry(t, day*10+i, nil)})
			require.NoError(t, err)
		}
		now = now.Add(24 * time.Hour)
	}
	// Keep two days: what was stored before now-2d goes.
	n, err := s.Purge(ctx, now.Add(-48*time.Hour))
	require.NoError(t, err)
	assert.Equal(t, int64(12), n)
	rep, err := s.Verify(ctx)
	require.NoError(t, err)
	assert.True(t, rep.OK, rep.Problem)
	assert.Equal(t, int64(12), rep.Checkpoint.Seq)
	assert.Equal(t, int64(8), rep.Records)
	n, err = s.Purge(ctx, now.Add(-48*time.Hour))
	require.NoError(t, err)
	assert.Zero(t, n, "nothing more to purge")

	// Appends after a purge extend the chain from the same head.
	_, _, err = s.Append(ctx, []Entry{decisionEntry(t, 99, nil)})
	require.NoError(t, err)
	rep, err = s.Verify(ctx)
	require.NoError(t, err)
	assert.True(t, rep.OK, rep.Problem)
	assert.Equal(t, int64(21), rep.Head.Seq)
}

func TestWritesWhileQueriesRun(t *testing.T) {
	ctx := context.Background()
	s, _ := open(t)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for b := 0; b < 20; b++ {
			batch := make([]Entry, 50)
			for i := range batch {
				batch[i] = decisionEntry(t, b*50+i, nil)
			}
			_, _, err := s.Append(ctx, batch)
			assert.NoError(t, err)
		}
	}()
	go func() {
		defer wg.Done()
		for i := 0; i < 100; i++ {
			_, _, err := s.Query(ctx, Filter{CorrelationID: "corr-3", Limit: 50})
			assert.NoError(t, err)
			rep, err := s.Verify(ctx)
			assert.NoError(t, err)
			assert.True(t, rep.OK, rep.Problem)
		}
	}()
	wg.Wait()
	rep, err := s.Verify(ctx)
	require.NoError(t, err)
	assert.True(t, rep.OK)
	assert.Equal(t, int64(1000), rep.Records)
}

// The synchronous mode reaches SQLite: FULL unless asked otherwise.
func TestSynchronousMode(t *testing.T) {
	for mode, want := range map[string]int{"": 2, SyncFull: 2, SyncNormal: 1} {
		var opts []Option
		if mode != "" {
			opts = append(opts, WithSynchronous(mode))
		}
		s, _ := open(t, opts...)
		var got int
		require.NoError(t, s.sqlDB.QueryRow(`PRAGMA synchronous`).Scan(&got))
		assert.Equal(t, want, got, mode)
	}
	_, err := Open(context.Background(), filepath.Join(t.TempDir(), "x.db"), WithSynchronous("off"))
	assert.ErrorContains(t, err, `synchronous "off"`)
}
