// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // "pgx", to tamper with the store
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/policyaudit/policyaudit/internal/auditstore"
	"github.com/policyaudit/policyaudit/internal/signing"
	"github.com/policyaudit/policyaudit/test/peers/pgpeer"
)

func pubFile(t *testing.T, s *signing.Signer) string {
	path := filepath.Join(t.TempDir(), "pub.pem")
	require.NoError(t, os.WriteFile(path, signing.PublicKeyPEM(s.PublicKey()), 0o600))
	return path
}

// verify --postgres on a fleet's store: every chain and the registry; a
// deleted chain and a cut tail are named and exit 1; a second collector's
// key is trusted with a second --public-key.
func TestVerifyPostgresNamesDeletedChainAndCutTail(t *testing.T) {
	ctx := context.Background()
	server := pgpeer.Start(t)
	sidecarKey, tierKey := newTestSigner(t), newTestSigner(t)
	fleet := func(name string) string {
		dsn := server.CreateDatabase(t, name)
		for i, chain := range []string{"sidecar-0", "tier-0"} {
			key := map[string]*signing.Signer{"sidecar-0": sidecarKey, "tier-0": tierKey}[chain]
			st, err := auditstore.OpenPostgres(ctx, auditstore.PostgresConfig{DSN: dsn, Chain: chain}, auditstore.WithSigner(key, 0))
			require.NoError(t, err)
			appendRecords(t, st, 10*i+1, 10*i+5) // event IDs are unique across the fleet
			require.NoError(t, st.SignHead(ctx, auditstore.SignedForRecords))
			st.Close()
		}
		// tier-0 signs last: its registry names sidecar-0's head at seq 5
		// only if it can verify it, so sidecar-0 signs once more after.
		st, err := auditstore.OpenPostgres(ctx, auditstore.PostgresConfig{DSN: dsn, Chain: "sidecar-0"}, auditstore.WithSigner(sidecarKey, 0))
		require.NoError(t, err)
		appendRecords(t, st, 6, 6)
		require.NoError(t, st.SignHead(ctx, auditstore.SignedForShutdown))
		st.Close()
		return dsn
	}
	keys := []string{"--public-key", pubFile(t, sidecarKey), "--public-key", pubFile(t, tierKey)}

	dsn := fleet("intact")
	code, out := policyaudit(append([]string{"verify", "--postgres", dsn}, keys...)...)
	assert.Equal(t, 0, code, out)
	assert.Contains(t, out, `chain "sidecar-0": ok, 6 records, seq 1 to 6`)
	assert.Contains(t, out, `chain "tier-0": ok, 5 records, seq 1 to 5`)
	assert.Contains(t, out, "ok: 2 chains, 11 records")
	code, out = policyaudit("verify", "--postgres", dsn, "--public-key", pubFile(t, sidecarKey))
	assert.Equal(t, 1, code, "tier-0's heads are not signed by a trusted key: %s", out)

	dsn = fleet("deleted")
	tamperPG(t, dsn, `DELETE FROM records WHERE chain = 'tier-0'`, `DELETE FROM signed_heads WHERE chain = 'tier-0'`, `DELETE FROM chains WHERE chain = 'tier-0'`)
	code, out = policyaudit(append([]string{"verify", "--postgres", dsn}, keys...)...)
	assert.Equal(t, 1, code, out)
	assert.Contains(t, out, `BROKEN at seq 0: registry: chain "tier-0", registered at`)

	dsn = fleet("cut")
	// sidecar-0's tail and its newest head gone: the registry its own
	// last signature wrote names seq 5; the chain must still reach it.
	tamperPG(t, dsn, `DELETE FROM records WHERE chain = 'sidecar-0' AND seq > 4`, `DELETE FROM signed_heads WHERE chain = 'sidecar-0' AND seq > 4`)
	code, out = policyaudit(append([]string{"verify", "--postgres", dsn}, keys...)...)
	assert.Equal(t, 1, code, out)
	assert.Contains(t, out, `chain "sidecar-0": BROKEN at seq 5: the chain ends at seq 4, before the head at seq`)

	code, out = policyaudit("verify", "--postgres", dsn, "audit.db")
	assert.Equal(t, 2, code, out)
}

func tamperPG(t *testing.T, dsn string, stmts ...string) {
	db, err := sql.Open("pgx", dsn)
	require.NoError(t, err)
	defer db.Close()
	for _, q := range stmts {
		_, err := db.Exec(q)
		require.NoError(t, err, q)
	}
}

func newTestSigner(t *testing.T) *signing.Signer {
	priv, _, err := signing.GenerateKey()
	require.NoError(t, err)
	s, err := signing.ParsePrivateKey(priv)
	require.NoError(t, err)
	return s
}
