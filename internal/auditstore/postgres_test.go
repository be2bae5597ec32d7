// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package auditstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // "pgx", for the tests' own statements
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/policyaudit/policyaudit/internal/signing"
	"github.com/policyaudit/policyaudit/test/peers/pgpeer"
)

// One real PostgreSQL for the package's tests; a database per test.
var (
	pgOnce   sync.Once
	pgServer *pgpeer.Server
	pgDBs    atomic.Int64
)

func sharedDSN(t testing.TB) string {
	t.Helper()
	var err error
	pgOnce.Do(func() { pgServer, err = pgpeer.Launch() })
	require.NoError(t, err)
	require.NotNil(t, pgServer, "PostgreSQL did not start")
	return pgServer.CreateDatabase(t, fmt.Sprintf("store%d", pgDBs.Add(1)))
}

func TestMain(m *testing.M) {
	code := m.Run()
	if pgServer != nil {
		pgServer.Stop()
	}
	os.Exit(code)
}

func openShared(t testing.TB, dsn, chain string, opts ...Option) *Store {
	t.Helper()
	s, err := OpenPostgres(context.Background(), PostgresConfig{DSN: dsn, Chain: chain}, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

func pgExec(t *testing.T, dsn string, stmts ...string) {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	require.NoError(t, err)
	defer db.Close()
	for _, q := range stmts {
		_, err := db.Exec(q)
		require.NoError(t, err, q)
	}
}

func verifyShared(t *testing.T, dsn string, keys ...*signing.Signer) Report {
	t.Helper()
	s := openShared(t, dsn, "")
	var opts VerifyOptions
	for i, k := range keys {
		if i == 0 {
			opts.PublicKey = k.PublicKey()
		} else {
			opts.MoreKeys = append(opts.MoreKeys, k.PublicKey())
		}
	}
	rep, err := s.VerifyWith(context.Background(), opts)
	require.NoError(t, err)
	return rep
}

// Two writers of a fleet: one chain each, one event_id space, every
// query across both, and a verification of both chains and the registry.
func TestSharedStoreIsOneTrailOfManyChains(t *testing.T) {
	ctx := context.Background()
	dsn := sharedDSN(t)
	key := newSigner(t)
	a := openShared(t, dsn, "sidecar-a", WithSigner(key, 3))
	b := openShared(t, dsn, "sidecar-b", WithSigner(key, 3))

	n, dups, err := a.Append(ctx, []Entry{decisionEntry(t, 1, nil), decisionEntry(t, 2, nil), decisionEntry(t, 3, nil)})
	require.NoError(t, err)
	assert.Equal(t, []int{3, 0}, []int{n, dups})
	// A gateway's retry of event 2 reaches the other replica: stored once.
	n, dups, err = b.Append(ctx, []Entry{decisionEntry(t, 2, nil), decisionEntry(t, 4, nil), adminEntry(t, 5, t0)})
	require.NoError(t, err)
	assert.Equal(t, []int{2, 1}, []int{n, dups})

	for _, s := range []*Store{a, b} {
		rows, _, err := s.Query(ctx, Filter{Limit: 10})
		require.NoError(t, err)
		assert.Len(t, rows, 5, "each writer's API sees the whole fleet")
		row, ok, err := s.Get(ctx, "ev-000004")
		require.NoError(t, err)
		require.True(t, ok)
		assert.Equal(t, "sidecar-b", row.Chain)
		link, ok, err := s.CheckLink(ctx, row.Chain, row.Seq)
		require.NoError(t, err)
		assert.True(t, ok && link.OK, "%+v", link)
	}
	// Pages across chains: every record once, in created_at order.
	var seen []string
	cursor := ""
	for {
		rows, next, err := a.Query(ctx, Filter{Limit: 2, Cursor: cursor})
		require.NoError(t, err)
		for _, r := range rows {
			seen = append(seen, r.Chain+"/"+itoa(r.Seq))
		}
		if next == "" {
			break
		}
		cursor = next
	}
	assert.Len(t, seen, 5)
	span, err := a.Timeline(ctx, Filter{Since: t0, Until: t0.Add(time.Hour)}, time.Hour)
	require.NoError(t, err)
	require.Len(t, span, 1)
	assert.Equal(t, int64(4), span[0].Enforced["allow"])
	st, err := a.Stats(ctx, t0)
	require.NoError(t, err)
	assert.Equal(t, int64(4), st.Total)

	require.NoError(t, a.SignHead(ctx, SignedForShutdown))
	require.NoError(t, b.SignHead(ctx, SignedForShutdown))
	rep := verifyShared(t, dsn, key)
	require.True(t, rep.OK, "%+v", rep)
	assert.Equal(t, int64(5), rep.Records)
	require.Len(t, rep.Chains, 2)
	assert.Equal(t, 2, rep.Registry.Chains)
	for _, c := range rep.Chains {
		require.NotNil(t, c.SignedHead, c.Chain)
	}
	// The running store verifies the fleet as well (the API's /verify).
	live, err := a.Verify(ctx)
	require.NoError(t, err)
	assert.True(t, live.OK, "%+v", live)
}

// Two processes that believe they own one chain (a restarted pod with the
// same name): the later one fences the earlier, which appends and signs no
// more, and the chain never forks.
func TestTwoWritersOfOneChainCannotForkIt(t *testing.T) {
	ctx := context.Background()
	dsn := sharedDSN(t)
	key := newSigner(t)
	old := openShared(t, dsn, "tier-0", WithSigner(key, 0))
	_, _, err := old.Append(ctx, []Entry{decisionEntry(t, 1, nil), decisionEntry(t, 2, nil)})
	require.NoError(t, err)
	restarted := openShared(t, dsn, "tier-0", WithSigner(key, 0))
	_, _, err = old.Append(ctx, []Entry{decisionEntry(t, 3, nil)})
	require.ErrorIs(t, err, ErrFenced)
	require.ErrorIs(t, old.SignHead(ctx, SignedForShutdown), ErrFenced)
	_, _, err = restarted.Append(ctx, []Entry{decisionEntry(t, 3, nil)})
	require.NoError(t, err)
	assert.Equal(t, Link{Seq: 3, Hash: restarted.Head().Hash}, restarted.Head())

	// Both at once, from the start: whichever opened last appends; the
	// other is fenced; nothing is stored twice and the chain is one line.
	var wg sync.WaitGroup
	var fenced atomic.Int64
	writers := []*Store{openShared(t, dsn, "tier-1", WithSigner(key, 5)), openShared(t, dsn, "tier-1", WithSigner(key, 5))}
	for w, s := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				_, _, err := s.Append(ctx, []Entry{decisionEntry(t, 1000+w*100+i, nil)})
				if errors.Is(err, ErrFenced) {
					fenced.Add(1)
					return
				}
				assert.NoError(t, err)
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, int64(1), fenced.Load(), "the first opener is fenced")
	require.NoError(t, writers[1].SignHead(ctx, SignedForShutdown))
	require.NoError(t, restarted.SignHead(ctx, SignedForShutdown))
	rep := verifyShared(t, dsn, key)
	require.True(t, rep.OK, "%+v", rep)
	assert.Equal(t, int64(3+50), rep.Records)
}

// Appends racing on the same event_ids from two writers: each stored once,
// the rest counted as duplicates.
func TestConcurrentRetriesAreStoredOnce(t *testing.T) {
	ctx := context.Background()
	dsn := sharedDSN(t)
	writers := []*Store{openShared(t, dsn, "a"), openShared(t, dsn, "b")}
	var stored, dups atomic.Int64
	var wg sync.WaitGroup
	for _, s := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for start := 0; start < 400; start += 20 {
				batch := make([]Entry, 0, 20)
				for i := start; i < start+20; i++ {
					batch = append(batch, decisionEntry(t, i, nil))
				}
				n, d, err := s.Append(ctx, batch)
				assert.NoError(t, err)
				stored.Add(int64(n))
				dups.Add(int64(d))
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, int64(400), stored.Load())
	assert.Equal(t, int64(400), dups.Load())
	rep := verifyShared(t, dsn)
	require.True(t, rep.OK, "%+v", rep)
	assert.Equal(t, int64(400), rep.Records)
}

// What verify --postgres must name: a deleted chain, a cut tail and a
// forked chain (a second branch signed by a writer that was not fenced).
func TestVerifySharedNamesDeletedCutAndForkedChains(t *testing.T) {
	ctx := context.Background()
	key := newSigner(t)
	setup := func(t *testing.T) string {
		dsn := sharedDSN(t)
		a := openShared(t, dsn, "a", WithSigner(key, 0))
		b := openShared(t, dsn, "b", WithSigner(key, 0))
		for i := 1; i <= 10; i++ {
			_, _, err := a.Append(ctx, []Entry{decisionEntry(t, i, nil)})
			require.NoError(t, err)
			_, _, err = b.Append(ctx, []Entry{decisionEntry(t, 100+i, nil)})
			require.NoError(t, err)
			if i == 8 {
				require.NoError(t, a.SignHead(ctx, SignedForRecords))
				require.NoError(t, b.SignHead(ctx, SignedForRecords))
			}
		}
		require.NoError(t, a.SignHead(ctx, SignedForShutdown))
		require.NoError(t, b.SignHead(ctx, SignedForShutdown))
		rep := verifyShared(t, dsn, key)
		require.True(t, rep.OK, "%+v", rep)
		return dsn
	}
	t.Run("deleted chain", func(t *testing.T) {
		dsn := setup(t)
		pgExec(t, dsn, `DELETE FROM records WHERE chain = 'b'`, `DELETE FROM signed_heads WHERE chain = 'b'`,
			`DELETE FROM checkpoint WHERE chain = 'b'`, `DELETE FROM chains WHERE chain = 'b'`)
		rep := verifyShared(t, dsn, key)
		assert.False(t, rep.OK)
		assert.Contains(t, rep.Problem, `chain "b", registered at`)
		assert.Contains(t, rep.Problem, "is missing: it was deleted")
	})
	t.Run("cut tail", func(t *testing.T) {
		dsn := setup(t)
		// Records and heads after seq 8 of chain a gone: a's own heads
		// no longer show it, the registry b signed last still does.
		pgExec(t, dsn, `DELETE FROM records WHERE chain = 'a' AND seq > 8`, `DELETE FROM signed_heads WHERE chain = 'a' AND seq > 8`)
		rep := verifyShared(t, dsn, key)
		assert.False(t, rep.OK)
		assert.Contains(t, rep.Problem, `chain "a": the chain ends at seq 8, before the head at seq 10`)
	})
	t.Run("forked chain", func(t *testing.T) {
		dsn := setup(t)
		// A process that was not fenced continued chain a from seq 6
		// with other records and signed its branch.
		rogue := &Store{now: time.Now, pg: true, chain: "a", signer: key, vouchedFrom: 7}
		db, err := sql.Open("pgx", dsn)
		require.NoError(t, err)
		defer db.Close()
		rogue.sqlDB, rogue.db = db, conn{c: db, pg: true}
		pgExec(t, dsn, `DELETE FROM records WHERE chain = 'a' AND seq > 6`)
		require.NoError(t, rogue.takeChain(ctx))
		_, _, err = rogue.Append(ctx, []Entry{decisionEntry(t, 50, nil), decisionEntry(t, 51, nil), decisionEntry(t, 52, nil), decisionEntry(t, 53, nil)})
		require.NoError(t, err)
		require.NoError(t, rogue.SignHead(ctx, SignedForShutdown))
		rep := verifyShared(t, dsn, key)
		assert.False(t, rep.OK)
		assert.True(t, strings.Contains(rep.Problem, `chain "a": two signed heads at seq 10 name different hashes`) ||
			strings.Contains(rep.Problem, `chain "a": the chain from seq 7 to 8 is not what the head signed or expected at seq 8 covers`), rep.Problem)
	})
	t.Run("forged registry", func(t *testing.T) {
		dsn := setup(t)
		pgExec(t, dsn, `UPDATE registry_heads SET statement = replace(statement, '"chain":"b"', '"chain":"c"') WHERE id = (SELECT max(id) FROM registry_heads)`)
		rep := verifyShared(t, dsn, key)
		assert.False(t, rep.OK)
		assert.Contains(t, rep.Problem, "the statement or its signature was changed")
	})
	t.Run("another key", func(t *testing.T) {
		dsn := setup(t)
		rep := verifyShared(t, dsn, newSigner(t))
		assert.False(t, rep.OK)
		rep = verifyShared(t, dsn, newSigner(t), key)
		assert.True(t, rep.OK, "one of the trusted keys signed: %+v", rep)
	})
}
