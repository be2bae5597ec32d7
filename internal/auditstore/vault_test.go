// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package auditstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/policyaudit/policyaudit/internal/record"
)

// lookupOf stands in for the extension's keyed hash of a person's value.
func lookupOf(i int) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "person-%d", i))
	return hex.EncodeToString(sum[:])
}

func lookups(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = lookupOf(i)
	}
	return out
}

func TestTokensAreRandomStableAndRecognisable(t *testing.T) {
	ctx := context.Background()
	s, path := open(t)
	first, err := s.Tokens(ctx, []string{lookupOf(1), lookupOf(2), lookupOf(1)})
	require.NoError(t, err)
	assert.Equal(t, first[0], first[2], "one person, one token")
	assert.NotEqual(t, first[0], first[1])
	for _, tok := range first {
		assert.True(t, record.IsToken(tok), tok)
	}
	assert.False(t, record.IsToken("alice"))
	assert.False(t, record.IsToken("hmac-sha256:"+lookupOf(1)))

	require.NoError(t, s.Close())
	s2, err := Open(ctx, path)
	require.NoError(t, err)
	defer s2.Close()
	again, err := s2.Tokens(ctx, []string{lookupOf(2), lookupOf(1)})
	require.NoError(t, err)
	assert.Equal(t, []string{first[1], first[0]}, again, "the same tokens after a restart")

	// Random, not derived: a second vault gives the same person another token.
	other, _ := open(t)
	fresh, err := other.Tokens(ctx, []string{lookupOf(1)})
	require.NoError(t, err)
	assert.NotEqual(t, first[0], fresh[0])
}

// mintConcurrently asks for the tokens of n people from senders goroutines
// per store, each in its own order and in batches: the answers must agree
// on one token per person, and the vault must hold exactly n.
func mintConcurrently(t *testing.T, stores []*Store, n, senders int) {
	ctx := context.Background()
	all := lookups(n)
	var mu sync.Mutex
	tokenOf := map[string]string{}
	var wg sync.WaitGroup
	for si, st := range stores {
		for g := range senders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				order := rand.New(rand.NewPCG(uint64(si), uint64(g))).Perm(n)
				for i := 0; i < n; i += 37 {
					batch := make([]string, 0, 37)
					for _, j := range order[i:min(i+37, n)] {
						batch = append(batch, all[j])
					}
					toks, err := st.Tokens(ctx, batch)
					if !assert.NoError(t, err) {
						return
					}
					mu.Lock()
					for k, l := range batch {
						if prev, ok := tokenOf[l]; ok {
							assert.Equal(t, prev, toks[k], "two tokens for one person")
						}
						tokenOf[l] = toks[k]
					}
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	size, err := stores[0].VaultSize(ctx)
	require.NoError(t, err)
	assert.EqualValues(t, n, size)
	distinct := map[string]bool{}
	for _, tok := range tokenOf {
		distinct[tok] = true
	}
	assert.Len(t, distinct, n)
}

func TestConcurrentSendersGetOneTokenPerPerson(t *testing.T) {
	s, path := open(t)
	// Two pipelines of one collector share the store; two handles on one
	// file stand in for them writing at once.
	s2, err := Open(context.Background(), path)
	require.NoError(t, err)
	defer s2.Close()
	mintConcurrently(t, []*Store{s, s2}, 1000, 4)
}

func TestConcurrentCollectorsShareOneVaultOnPostgres(t *testing.T) {
	dsn := sharedDSN(t)
	a := openShared(t, dsn, "collector-a")
	b := openShared(t, dsn, "collector-b")
	mintConcurrently(t, []*Store{a, b}, 1000, 4)
}

// filesHolding lists the files under dir whose bytes hold any of needles.
func filesHolding(t *testing.T, dir string, skip func(string) bool, needles ...[]byte) []string {
	t.Helper()
	var out []string
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || skip(p) {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil // a file removed meanwhile
		}
		for _, n := range needles {
			if bytes.Contains(b, n) {
				out = append(out, p)
				break
			}
		}
		return nil
	}))
	return out
}

// needlesOf are the forms a lookup could be kept in: its hex and its bytes.
func needlesOf(lookup string) [][]byte {
	raw, _ := hex.DecodeString(lookup)
	return [][]byte{[]byte(lookup), raw}
}

func TestForgetLeavesNothingInTheFileOrItsLog(t *testing.T) {
	ctx := context.Background()
	s, path := open(t)
	// Enough people for the vault's pages to split: a split copies entries.
	toks, err := s.Tokens(ctx, lookups(3000))
	require.NoError(t, err)
	gone := lookupOf(1234)
	require.NotEmpty(t, filesHolding(t, filepath.Dir(path), func(string) bool { return false }, needlesOf(gone)...), "the test must see the entry before")

	token, ok, err := s.Forget(ctx, gone)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, toks[1234], token)
	assert.Empty(t, filesHolding(t, filepath.Dir(path), func(string) bool { return false }, needlesOf(gone)...),
		"the lookup of an erased person is still in the database file, its free pages or its log")

	_, ok, err = s.Token(ctx, gone)
	require.NoError(t, err)
	assert.False(t, ok)
	kept, ok, err := s.Token(ctx, lookupOf(1233))
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Equal(t, toks[1233], kept, "everyone else keeps their token")
	_, ok, err = s.Forget(ctx, gone)
	require.NoError(t, err)
	assert.False(t, ok, "forgetting twice finds nothing the second time")

	// The person comes back: a new token, tied to nothing before.
	again, err := s.Tokens(ctx, []string{gone})
	require.NoError(t, err)
	assert.NotEqual(t, token, again[0])
}

func TestForgetOnPostgresLeavesNothingInTheTables(t *testing.T) {
	ctx := context.Background()
	s := openShared(t, sharedDSN(t), "collector-a")
	_, err := s.Tokens(ctx, lookups(3000))
	require.NoError(t, err)
	gone := lookupOf(42)
	_, err = s.db.ExecContext(ctx, `CHECKPOINT`) // the entry on disk before
	require.NoError(t, err)
	// This test's database's files (other tests' databases hold the same
	// people); pg_wal is the server's log, which it recycles.
	var oid int64
	require.NoError(t, s.db.QueryRowContext(ctx, `SELECT oid FROM pg_database WHERE datname = current_database()`).Scan(&oid))
	dir := filepath.Join(pgServer.DataDir(), "base", fmt.Sprint(oid))
	all := func(string) bool { return false }
	require.NotEmpty(t, filesHolding(t, dir, all, needlesOf(gone)...))

	_, ok, err := s.Forget(ctx, gone)
	require.NoError(t, err)
	require.True(t, ok)
	_, err = s.db.ExecContext(ctx, `CHECKPOINT`) // whatever is in memory on disk too
	require.NoError(t, err)
	assert.Empty(t, filesHolding(t, dir, all, needlesOf(gone)...),
		"a table or index file of the database still holds the erased lookup")
	_, ok, err = s.Token(ctx, lookupOf(41))
	require.NoError(t, err)
	assert.True(t, ok)
}
