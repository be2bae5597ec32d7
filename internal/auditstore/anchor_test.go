// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package auditstore

import (
	"context"
	"database/sql"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/policyaudit/policyaudit/internal/signing"
)

func newSigner(t testing.TB) *signing.Signer {
	priv, _, err := signing.GenerateKey()
	require.NoError(t, err)
	s, err := signing.ParsePrivateKey(priv)
	require.NoError(t, err)
	return s
}

// anchoredStore holds seq 1-10 (seq 1-3 stored two days earlier), signed
// every 2 records (heads at 2, 4, 6, 8, 10) and at shutdown.
func anchoredStore(t *testing.T, signer *signing.Signer) (*Store, string, *time.Time) {
	ctx := context.Background()
	now := t0
	s, path := open(t, WithClock(func() time.Time { return now }), WithSigner(signer, 2))
	for i := 1; i <= 10; i++ {
		if i == 4 {
			now = now.Add(48 * time.Hour)
		}
		_, _, err := s.Append(ctx, []Entry{decisionEntry(t, i, nil)})
		require.NoError(t, err)
	}
	require.NoError(t, s.SignHead(ctx, SignedForShutdown))
	return s, path, &now
}

func rawDB(t *testing.T, path string, stmts ...string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	require.NoError(t, err)
	defer db.Close()
	for _, q := range stmts {
		_, err = db.Exec(q)
		require.NoError(t, err, q)
	}
}

// verifyOffline verifies the file as an auditor would, with the trusted key
// and, when given, a signed head kept elsewhere.
func verifyOffline(t *testing.T, path string, pub *signing.Signer, expect *Link) Report {
	t.Helper()
	s, err := Open(context.Background(), path)
	require.NoError(t, err)
	defer s.Close()
	opts := VerifyOptions{}
	if expect != nil {
		opts.Expect = []Link{*expect}
	}
	if pub != nil {
		opts.PublicKey = pub.PublicKey()
	}
	rep, err := s.VerifyWith(context.Background(), opts)
	require.NoError(t, err)
	return rep
}

// rewrite plays an attacker with the disk but not the key: change the record
// at seq and recompute every later link so the chain is consistent again.
func rewrite(t *testing.T, path string, seq int64) {
	e := decisionEntry(t, 999, nil)
	rawDB(t, path, `UPDATE records SET event_id = '`+e.EventID+`', created_ms = `+itoa(e.CreatedMS)+`, correlation_id = '`+e.CorrelationID+`' WHERE seq = `+itoa(seq))
	relink(t, path, seq, func(l *storedLink) {
		if l.seq == seq {
			l.record = e.Record
		}
	})
}

// relink changes the links from seq on with change (a record, a stored
// time) and recomputes every hash from there, so the links agree again.
func relink(t *testing.T, path string, seq int64, change func(*storedLink)) {
	db, err := sql.Open("sqlite", "file:"+path)
	require.NoError(t, err)
	defer db.Close()
	rows, err := db.Query(`SELECT seq, stored_ms, record, prev_hash FROM records WHERE seq >= ? ORDER BY seq`, seq)
	require.NoError(t, err)
	var all []storedLink
	for rows.Next() {
		var l storedLink
		var record string
		require.NoError(t, rows.Scan(&l.seq, &l.storedMS, &record, &l.prevHash))
		l.record = []byte(record)
		all = append(all, l)
	}
	require.NoError(t, rows.Close())
	prev := all[0].prevHash
	for _, l := range all {
		change(&l)
		h := linkHash(l.seq, l.storedMS, prev, l.record)
		_, err := db.Exec(`UPDATE records SET record = ?, stored_ms = ?, prev_hash = ?, hash = ? WHERE seq = ?`, string(l.record), l.storedMS, prev, h, l.seq)
		require.NoError(t, err)
		prev = h
	}
}

// cutPrefix deletes the records up to seq and forges a checkpoint there, with
// the link's own hash and stored time.
func cutPrefix(t *testing.T, path string, seq int64) {
	db, err := sql.Open("sqlite", "file:"+path)
	require.NoError(t, err)
	var hash string
	var stored int64
	require.NoError(t, db.QueryRow(`SELECT hash, stored_ms FROM records WHERE seq = ?`, seq).Scan(&hash, &stored))
	require.NoError(t, db.Close())
	rawDB(t, path, `DELETE FROM records WHERE seq <= `+itoa(seq),
		`INSERT INTO checkpoint (id, seq, hash, stored_ms) VALUES (1, `+itoa(seq)+`, '`+hash+`', `+itoa(stored)+`)`)
}

// Issue 17, attack 2: the start of the chain cut and a checkpoint forged at
// the cut. Unanchored (what verification was before signed heads) it passes;
// with the store's public key it is named.
func TestCutPrefixWithForgedCheckpoint(t *testing.T) {
	signer := newSigner(t)
	s, path, _ := anchoredStore(t, signer)
	require.NoError(t, s.Close())
	cutPrefix(t, path, 5)

	assert.True(t, verifyOffline(t, path, nil, nil).OK, "without the key the cut cannot be seen")
	rep := verifyOffline(t, path, signer, nil)
	assert.False(t, rep.OK)
	assert.Equal(t, int64(6), rep.FirstBad, rep.Problem)
	assert.Contains(t, rep.Problem, "not a retention checkpoint signed by key")
}

// Issue 26, bug 1: the prefix cut at a routine signed head (signed every
// so many records, not by retention), its seq and hash copied into the
// checkpoint. The head's signature is genuine; only its kind tells that no
// purge happened there.
func TestCutPrefixAtARoutineSignedHead(t *testing.T) {
	signer := newSigner(t)
	s, path, _ := anchoredStore(t, signer)
	var reason string
	require.NoError(t, s.sqlDB.QueryRow(`SELECT json_extract(statement, '$.reason') FROM signed_heads WHERE seq = 4`).Scan(&reason))
	require.Equal(t, SignedForRecords, reason, "a routine head is signed at seq 4")
	require.NoError(t, s.Close())
	cutPrefix(t, path, 4)

	rep := verifyOffline(t, path, signer, nil)
	assert.False(t, rep.OK)
	assert.Equal(t, int64(5), rep.FirstBad, rep.Problem)
	assert.Contains(t, rep.Problem, "the checkpoint at seq 4 is not a retention checkpoint signed by key")
}

// A legitimate purge stays verifiable: retention signs its checkpoint.
func TestRetentionCheckpointIsSigned(t *testing.T) {
	signer := newSigner(t)
	s, path, now := anchoredStore(t, signer)
	n, err := s.Purge(context.Background(), now.Add(-24*time.Hour))
	require.NoError(t, err)
	require.Equal(t, int64(3), n)
	rep, err := s.Verify(context.Background())
	require.NoError(t, err)
	assert.True(t, rep.OK, rep.Problem)
	assert.True(t, rep.Anchored)
	assert.Equal(t, int64(3), rep.Checkpoint.Seq)
	var heads int
	require.NoError(t, s.sqlDB.QueryRow(`SELECT COUNT(*) FROM signed_heads WHERE seq < 3`).Scan(&heads))
	assert.Zero(t, heads, "the head at seq 2 is dropped with the records it covered")
	require.NoError(t, s.Close())
	rep = verifyOffline(t, path, signer, nil)
	assert.True(t, rep.OK, rep.Problem)
	assert.Equal(t, &Link{Seq: 10, Hash: rep.Head.Hash}, rep.SignedHead)
	assert.Zero(t, rep.UnsignedRecords)

	// Moving that checkpoint further (cutting more) is caught.
	var hash5 string
	var stored5 int64
	db, err := sql.Open("sqlite", "file:"+path)
	require.NoError(t, err)
	require.NoError(t, db.QueryRow(`SELECT hash, stored_ms FROM records WHERE seq = 5`).Scan(&hash5, &stored5))
	require.NoError(t, db.Close())
	rawDB(t, path, `DELETE FROM records WHERE seq <= 5`, `UPDATE checkpoint SET seq = 5, hash = '`+hash5+`', stored_ms = `+itoa(stored5))
	rep = verifyOffline(t, path, signer, nil)
	assert.False(t, rep.OK)
	assert.Equal(t, int64(6), rep.FirstBad, rep.Problem)
}

// Issue 17, attack 2: a backdated stored_ms breaks the link, and retention
// refuses to purge on it.
func TestBackdatedStoredTime(t *testing.T) {
	signer := newSigner(t)
	s, path, now := anchoredStore(t, signer)
	rawDB(t, path, `UPDATE records SET stored_ms = stored_ms - 172800000 WHERE seq BETWEEN 4 AND 6`)
	_, err := s.Purge(context.Background(), now.Add(-24*time.Hour))
	assert.ErrorContains(t, err, "retention refused: the chain is broken at seq 4")
	var left int64
	require.NoError(t, s.sqlDB.QueryRow(`SELECT COUNT(*) FROM records`).Scan(&left))
	assert.Equal(t, int64(10), left, "nothing was purged")
	require.NoError(t, s.Close())
	for _, key := range []*signing.Signer{nil, signer} {
		rep := verifyOffline(t, path, key, nil)
		assert.False(t, rep.OK)
		assert.Equal(t, int64(4), rep.FirstBad, rep.Problem)
	}
}

// Issue 26, bug 2: records 4-6 backdated to before record 3 with every
// link recomputed, so no hash gives it away: what someone with the disk does
// to records no signed head covers yet, or to an unanchored store, to make
// retention delete them early. Verification names the time going back, and
// retention refuses to purge across it.
func TestBackdatedStoredTimeWithConsistentLinks(t *testing.T) {
	s, path, now := anchoredStore(t, nil)
	relink(t, path, 4, func(l *storedLink) {
		if l.seq <= 6 {
			l.storedMS = t0.Add(-24 * time.Hour).UnixMilli()
		}
	})
	_, err := s.Purge(context.Background(), now.Add(-24*time.Hour))
	assert.ErrorContains(t, err, "retention refused: the chain is broken at seq 4: stored_ms goes back in time from seq 3")
	var left int64
	require.NoError(t, s.sqlDB.QueryRow(`SELECT COUNT(*) FROM records`).Scan(&left))
	assert.Equal(t, int64(10), left, "nothing was purged")
	require.NoError(t, s.Close())
	rep := verifyOffline(t, path, nil, nil)
	assert.False(t, rep.OK)
	assert.Equal(t, int64(4), rep.FirstBad)
	assert.Equal(t, "stored_ms goes back in time from seq 3", rep.Problem)
}

// Rows changed, deleted, inserted or reordered are named with the first bad
// seq under the key too; a chain rewritten with recomputed hashes is caught
// by the signed head that covers it.
func TestAnchoredTampering(t *testing.T) {
	for _, tc := range []struct {
		name string
		sql  string
		bad  int64
	}{
		{"change a record", `UPDATE records SET record = replace(record, '"allow"', '"deny"') WHERE seq = 6`, 6},
		{"delete a row", `DELETE FROM records WHERE seq = 6`, 6},
		{"insert a row", `INSERT INTO records SELECT 11, 'forged', event_kind, created_ms, stored_ms, correlation_id, user, decision, effective_decision, policy_id, policy_version, rollout_mode, model, project_id, reason_code, action, record, hash, hash, chain, input_tokens, output_tokens, total_tokens, cost, currency FROM records WHERE seq = 10`, 11},
		{"reorder rows", `UPDATE records SET seq = CASE seq WHEN 7 THEN -7 WHEN 8 THEN 7 END WHERE seq IN (7, 8); UPDATE records SET seq = 8 WHERE seq = -7`, 7},
		{"delete a signed head's record at the end", `DELETE FROM records WHERE seq >= 9`, 9},
	} {
		t.Run(tc.name, func(t *testing.T) {
			signer := newSigner(t)
			s, path, _ := anchoredStore(t, signer)
			require.NoError(t, s.Close())
			rawDB(t, path, tc.sql)
			rep := verifyOffline(t, path, signer, nil)
			assert.False(t, rep.OK)
			assert.Equal(t, tc.bad, rep.FirstBad, rep.Problem)
		})
	}
	t.Run("rewrite and recompute", func(t *testing.T) {
		signer := newSigner(t)
		s, path, _ := anchoredStore(t, signer)
		require.NoError(t, s.Close())
		rewrite(t, path, 6)
		assert.True(t, verifyOffline(t, path, nil, nil).OK, "consistent links: only a signature can tell")
		// So does one link's check (the console's record page says so).
		reopened, err := Open(context.Background(), path)
		require.NoError(t, err)
		defer reopened.Close()
		link, ok, err := reopened.CheckLink(context.Background(), "", 6)
		require.NoError(t, err)
		require.True(t, ok)
		assert.True(t, link.OK, "a rewritten range passes a single link's check")
		rep := verifyOffline(t, path, signer, nil)
		assert.False(t, rep.OK)
		assert.Equal(t, int64(5), rep.FirstBad, "the first seq after the last signed head that still matches (4): %s", rep.Problem)
	})
}

// Issue 17, attack 2: signed heads re-signed with another key.
func TestSignatureByAnotherKey(t *testing.T) {
	signer, forger := newSigner(t), newSigner(t)
	s, path, _ := anchoredStore(t, signer)
	require.NoError(t, s.Close())
	rewrite(t, path, 9)
	// The forger signs the rewritten head in place of the real one.
	db, err := sql.Open("sqlite", "file:"+path)
	require.NoError(t, err)
	var hash10 string
	var stored10 int64
	require.NoError(t, db.QueryRow(`SELECT hash, stored_ms FROM records WHERE seq = 10`).Scan(&hash10, &stored10))
	sh, _, err := signHead(forger, "", Link{Seq: 10, Hash: hash10}, stored10, t0, SignedForShutdown, 0, 1)
	require.NoError(t, err)
	_, err = db.Exec(`UPDATE signed_heads SET statement = ?, signature = ? WHERE seq = 10`, string(sh.Statement), sh.Signature)
	require.NoError(t, err)
	require.NoError(t, db.Close())

	rep := verifyOffline(t, path, signer, nil)
	assert.False(t, rep.OK)
	assert.Equal(t, int64(10), rep.FirstBad, rep.Problem)
	assert.Contains(t, rep.Problem, "signed by key "+forger.KeyID()+", not by the trusted key "+signer.KeyID())
}

// Issue 17, attack 2: the file rolled back to an earlier state, every
// signature in it valid. Given the latest signed head (kept off the host),
// the rollback is named.
func TestRollbackToAnEarlierSignedHead(t *testing.T) {
	ctx := context.Background()
	signer := newSigner(t)
	s, path := open(t, WithSigner(signer, 5))
	for i := 1; i <= 5; i++ {
		_, _, err := s.Append(ctx, []Entry{decisionEntry(t, i, nil)})
		require.NoError(t, err)
	}
	require.NoError(t, s.Close())
	backup := filepath.Join(t.TempDir(), "audit.db")
	copyFile(t, path, backup)

	s, err := Open(ctx, path, WithSigner(signer, 5))
	require.NoError(t, err)
	for i := 6; i <= 10; i++ {
		_, _, err := s.Append(ctx, []Entry{decisionEntry(t, i, nil)})
		require.NoError(t, err)
	}
	latest := s.LastSignedHead()
	require.NoError(t, s.Close())
	st, err := latest.Open(signer.PublicKey())
	require.NoError(t, err)
	require.Equal(t, int64(10), st.Seq)

	copyFile(t, backup, path) // the rollback
	assert.True(t, verifyOffline(t, path, signer, nil).OK, "every signature in the old file is valid")
	rep := verifyOffline(t, path, signer, &Link{Seq: st.Seq, Hash: st.Hash})
	assert.False(t, rep.OK)
	assert.Equal(t, int64(6), rep.FirstBad, rep.Problem)
	assert.Contains(t, rep.Problem, "rolled back")
}

func copyFile(t *testing.T, from, to string) {
	for _, suffix := range []string{"", "-wal", "-shm"} {
		src, err := os.Open(from + suffix)
		if os.IsNotExist(err) {
			_ = os.Remove(to + suffix)
			continue
		}
		require.NoError(t, err)
		dst, err := os.Create(to + suffix)
		require.NoError(t, err)
		_, err = io.Copy(dst, src)
		require.NoError(t, err)
		require.NoError(t, dst.Close())
		require.NoError(t, src.Close())
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
