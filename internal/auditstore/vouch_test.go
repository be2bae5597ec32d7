// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package auditstore

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/policyaudit/policyaudit/internal/signing"
)

// run is one collector process: open the store, append records from..to
// (none when from > to), and stop, gracefully (the head signed at shutdown)
// or killed (closed without signing).
func run(t *testing.T, path string, signer *signing.Signer, from, to int, graceful bool) StartCheck {
	t.Helper()
	ctx := context.Background()
	s, err := Open(ctx, path, WithSigner(signer, 4))
	require.NoError(t, err)
	check := s.StartCheck()
	for i := from; i <= to; i++ {
		_, _, err := s.Append(ctx, []Entry{decisionEntry(t, i, nil)})
		require.NoError(t, err)
	}
	if graceful {
		require.NoError(t, s.SignHead(ctx, SignedForShutdown))
	}
	require.NoError(t, s.Close())
	return check
}

// Issue 25: with the disk but not the key, rewrite records after a signed
// head, drop the heads that cover them and let the store restart. The
// restarted store must not vouch for what it found.
func TestRestartDoesNotCountersignARewrite(t *testing.T) {
	signer := newSigner(t)
	path := t.TempDir() + "/audit.db"
	run(t, path, signer, 1, 10, true) // heads at 4, 8 and 10 (shutdown)
	rewrite(t, path, 5)
	rawDB(t, path, `DELETE FROM signed_heads WHERE seq >= 5`)

	check := run(t, path, signer, 1, 0, true) // restart and stop, nothing else
	assert.Equal(t, &Link{Seq: 4, Hash: check.SignedHead.Hash}, check.SignedHead)
	assert.Equal(t, &SeqRange{From: 5, To: 10}, check.Unvouched)
	assert.Empty(t, check.Problem, "the links are consistent: only a signature could tell")
	rep := verifyOffline(t, path, signer, nil)
	require.True(t, rep.OK, rep.Problem)
	require.NotNil(t, rep.SignedHead)
	assert.Equal(t, int64(4), rep.SignedHead.Seq, "nothing the restart found is signed")
	assert.Equal(t, int64(6), rep.UnsignedRecords)

	// Later processes sign what they append, never the range they found.
	run(t, path, signer, 11, 13, true)
	rep = verifyOffline(t, path, signer, nil)
	require.True(t, rep.OK, rep.Problem)
	assert.Equal(t, int64(13), rep.SignedHead.Seq)
	assert.Equal(t, []SeqRange{{From: 5, To: 10}}, rep.Unvouched)
	assert.Equal(t, int64(6), rep.UnvouchedRecords)
	assert.Zero(t, rep.UnsignedRecords)
}

// A graceful restart leaves nothing unvouched; a killed process leaves the
// records after its last signed head covered by the links only, and says so.
func TestRestartsWithoutTampering(t *testing.T) {
	signer := newSigner(t)
	t.Run("graceful", func(t *testing.T) {
		path := t.TempDir() + "/audit.db"
		run(t, path, signer, 1, 10, true)
		check := run(t, path, signer, 11, 15, true)
		assert.Nil(t, check.Unvouched)
		assert.Equal(t, int64(10), check.SignedHead.Seq)
		rep := verifyOffline(t, path, signer, nil)
		require.True(t, rep.OK, rep.Problem)
		assert.Equal(t, int64(15), rep.SignedHead.Seq)
		assert.Empty(t, rep.Unvouched)
		assert.Zero(t, rep.UnsignedRecords)
	})
	t.Run("killed", func(t *testing.T) {
		path := t.TempDir() + "/audit.db"
		run(t, path, signer, 1, 10, false) // heads at 4 and 8 only
		check := run(t, path, signer, 11, 12, true)
		assert.Equal(t, &SeqRange{From: 9, To: 10}, check.Unvouched)
		assert.Empty(t, check.Problem)
		rep := verifyOffline(t, path, signer, nil)
		require.True(t, rep.OK, rep.Problem)
		assert.Equal(t, int64(12), rep.SignedHead.Seq)
		assert.Equal(t, []SeqRange{{From: 9, To: 10}}, rep.Unvouched)
	})
}

// The start check names a chain that no longer holds its newest signed
// head's record, and a head forged in the table is neither served nor
// trusted.
func TestStartCheckNamesARewriteUnderASignedHead(t *testing.T) {
	signer, forger := newSigner(t), newSigner(t)
	path := t.TempDir() + "/audit.db"
	run(t, path, signer, 1, 10, true)
	rewrite(t, path, 9) // the head at 10 is kept: it no longer matches
	check := run(t, path, signer, 1, 0, true)
	assert.Contains(t, check.Problem, "the record at seq 10 is not what its signed head covers")
	assert.Equal(t, &SeqRange{From: 1, To: 10}, check.Unvouched)

	path = t.TempDir() + "/audit.db"
	run(t, path, signer, 1, 6, true)
	s, err := Open(context.Background(), path, WithSigner(forger, 0))
	require.NoError(t, err)
	assert.Contains(t, s.StartCheck().Problem, "do not verify under key "+forger.KeyID())
	assert.Nil(t, s.LastSignedHead(), "a head the store's key did not sign is not served as its own")
	require.NoError(t, s.Close())
}

func TestUnvouchedRanges(t *testing.T) {
	assert.Empty(t, unvouched(1, 10, []SeqRange{{1, 4}, {5, 10}}))
	assert.Equal(t, []SeqRange{{5, 10}}, unvouched(1, 13, []SeqRange{{1, 4}, {11, 13}}))
	assert.Equal(t, []SeqRange{{1, 2}, {9, 9}}, unvouched(1, 9, []SeqRange{{6, 8}, {3, 7}}))
	assert.Equal(t, []SeqRange{{4, 5}}, unvouched(4, 5, nil))
}

// Retention signs a checkpoint: it may only purge up to a record a
// signature vouched for. Someone with the disk moves records 4-6 (stored two
// days after 1-3) back to record 3's time, keeping the time monotone and
// every link consistent, drops the heads that covered them, and lets the
// store restart and sign what it appends next: by their rows' time 4-6 are
// now past retention, but no signature vouches for them, so retention leaves
// them (and their evidence) alone.
func TestRetentionPurgesOnlyWhatASignatureVouchedFor(t *testing.T) {
	ctx := context.Background()
	signer := newSigner(t)
	s, path, now := anchoredStore(t, signer) // heads at 2, 4, 6, 8, 10
	require.NoError(t, s.Close())
	var stored3 int64
	db, err := sql.Open("sqlite", "file:"+path)
	require.NoError(t, err)
	require.NoError(t, db.QueryRow(`SELECT stored_ms FROM records WHERE seq = 3`).Scan(&stored3))
	require.NoError(t, db.Close())
	relink(t, path, 4, func(l *storedLink) {
		if l.seq <= 6 {
			l.storedMS = stored3
		}
	})
	rawDB(t, path, `DELETE FROM signed_heads WHERE seq >= 4`)

	s, err = Open(ctx, path, WithClock(func() time.Time { return *now }), WithSigner(signer, 2))
	require.NoError(t, err)
	defer s.Close()
	for i := 11; i <= 12; i++ {
		_, _, err := s.Append(ctx, []Entry{decisionEntry(t, i, nil)})
		require.NoError(t, err)
	}
	n, err := s.Purge(ctx, now.Add(-24*time.Hour))
	require.NoError(t, err)
	assert.Zero(t, n, "records 4-6 look old enough, but only a signature could say so")
	var left int64
	require.NoError(t, s.sqlDB.QueryRow(`SELECT COUNT(*) FROM records`).Scan(&left))
	assert.Equal(t, int64(12), left)
}
