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

// CheckLink checks one record's place with Verify's rules: the first
// record links to the checkpoint (genesis, then the purged link), the head
// has no next, and a changed record, a changed neighbour's prev_hash or a
// deleted predecessor is named.
func TestCheckLink(t *testing.T) {
	ctx := context.Background()
	now := t0
	s, path := open(t, WithClock(func() time.Time { return now }))
	for i := range 6 {
		_, _, err := s.Append(ctx, []Entry{decisionEntry(t, i, nil)})
		require.NoError(t, err)
		now = now.Add(time.Hour)
	}
	check := func(seq int64) LinkCheck {
		t.Helper()
		c, ok, err := s.CheckLink(ctx, "", seq)
		require.NoError(t, err)
		require.True(t, ok, "seq %d", seq)
		return c
	}
	first := check(1)
	assert.True(t, first.OK, first.Problem)
	assert.True(t, first.FromCheckpoint)
	assert.Equal(t, Link{Seq: 0, Hash: genesisHash}, first.Previous)
	assert.Equal(t, int64(2), first.Next.Seq)
	head := check(6)
	assert.True(t, head.OK, head.Problem)
	assert.Nil(t, head.Next, "the head")
	_, ok, err := s.CheckLink(ctx, "", 7)
	require.NoError(t, err)
	assert.False(t, ok)

	// After a purge the first kept record links to the checkpoint.
	_, err = s.Purge(ctx, t0.Add(2*time.Hour))
	require.NoError(t, err)
	kept := check(3)
	assert.True(t, kept.OK, kept.Problem)
	assert.True(t, kept.FromCheckpoint)
	assert.Equal(t, int64(2), kept.Previous.Seq)

	rawDB(t, path, `UPDATE records SET prev_hash = 'x' WHERE seq = 5`)
	four := check(4)
	assert.False(t, four.OK, "its successor no longer links to it")
	assert.Contains(t, four.Problem, "prev_hash does not match the hash of seq 4")
	rawDB(t, path, `DELETE FROM records WHERE seq = 5`)
	six := check(6)
	assert.False(t, six.OK)
	assert.Contains(t, six.Problem, "seq 5 is missing")
}

// RecentSpan is the range of the decisions of the window before the newest.
func TestRecentSpan(t *testing.T) {
	ctx := context.Background()
	s, _ := open(t)
	_, _, err := s.RecentSpan(ctx, time.Hour.Milliseconds())
	assert.ErrorIs(t, err, ErrNoDecisions)
	var entries []Entry
	for _, i := range []int{0, 7200, 9000, 10800} { // seconds after t0
		entries = append(entries, decisionEntry(t, i, nil))
	}
	entries = append(entries, adminEntry(t, 1, t0.Add(5*time.Hour)))
	_, _, err = s.Append(ctx, entries)
	require.NoError(t, err)
	first, last, err := s.RecentSpan(ctx, time.Hour.Milliseconds())
	require.NoError(t, err)
	assert.Equal(t, t0.Add(2*time.Hour).UnixMilli(), first, "the oldest decision within the hour before the newest")
	assert.Equal(t, t0.Add(3*time.Hour).UnixMilli(), last, "admin events are not decisions")
}

// A database from before the timeline's index gets it when opened, in place
// of the narrower index it replaces, and its records stay verifiable.
func TestOpenReplacesTheKindTimeIndex(t *testing.T) {
	ctx := context.Background()
	s, path := open(t)
	_, _, err := s.Append(ctx, []Entry{decisionEntry(t, 1, nil), decisionEntry(t, 2, nil)})
	require.NoError(t, err)
	require.NoError(t, s.Close())
	rawDB(t, path, `DROP INDEX records_kind_time_verdict; CREATE INDEX records_kind_time ON records (event_kind, created_ms, seq)`)

	s, err = Open(ctx, path)
	require.NoError(t, err)
	defer s.Close()
	var names []string
	rows, err := s.db.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'records_kind%'`)
	require.NoError(t, err)
	for rows.Next() {
		var n string
		require.NoError(t, rows.Scan(&n))
		names = append(names, n)
	}
	require.NoError(t, rows.Err())
	rows.Close()
	assert.Equal(t, []string{"records_kind_time_verdict"}, names)
	rep, err := s.Verify(ctx)
	require.NoError(t, err)
	assert.True(t, rep.OK, rep.Problem)
	assert.Equal(t, int64(2), rep.Records)
}
