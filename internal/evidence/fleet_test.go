// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package evidence

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/policyaudit/policyaudit/internal/auditstore"
	"github.com/policyaudit/policyaudit/test/peers/pgpeer"
)

// A fleet's collectors share one PostgreSQL store, each appending to its
// own chain and signing its heads with its own key: a bundle of the fleet
// carries both chains and both keys, and verifies under both.
func TestAFleetBundleCarriesEveryCollectorsKey(t *testing.T) {
	ctx := context.Background()
	pg := pgpeer.Start(t)
	dsn := pg.CreateDatabase(t, "fleet")
	now := day.Add(30 * time.Minute)
	clock := auditstore.WithClock(func() time.Time { return now })
	signerA, signerB := newSigner(t), newSigner(t)
	open := func(chain string, opts ...auditstore.Option) *auditstore.Store {
		st, err := auditstore.OpenPostgres(ctx, auditstore.PostgresConfig{DSN: dsn, Chain: chain}, opts...)
		require.NoError(t, err)
		t.Cleanup(func() { st.Close() })
		return st
	}
	a := open("sidecar-a", clock, auditstore.WithSigner(signerA, 0))
	b := open("sidecar-b", clock, auditstore.WithSigner(signerB, 0))
	for i, st := range []*auditstore.Store{a, b, a, b, b} {
		now = now.Add(time.Minute)
		_, _, err := st.Append(ctx, []auditstore.Entry{decision(t, fmt.Sprintf("d-%d", i), now, "p", "1", "deny", true)})
		require.NoError(t, err)
	}
	now = day.Add(25 * time.Hour)
	require.NoError(t, a.SignHead(ctx, auditstore.SignedForInterval))
	require.NoError(t, b.SignHead(ctx, auditstore.SignedForInterval))
	reader := open("")

	var out bytes.Buffer
	_, err := Export(ctx, reader, signerA, theDay, &out)
	assert.ErrorContains(t, err, fmt.Sprintf(`chain "sidecar-b": its head at seq 3 is signed by key %s, neither the store's key`, signerB.KeyID()))

	opts := theDay
	opts.FleetKeys = []ed25519.PublicKey{signerB.PublicKey()}
	bundle := export(t, reader, signerA, opts)
	both := auditstore.NewKeyring(signerA.PublicKey(), signerB.PublicKey())
	res, err := Verify(bytes.NewReader(bundle), both)
	require.NoError(t, err)
	require.True(t, res.OK, res.Problems)
	assert.Equal(t, 5, res.Records)
	assert.Len(t, res.Manifest.Chains, 2)
	files, err := readTar(bytes.NewReader(bundle))
	require.NoError(t, err)
	assert.Contains(t, string(files[FileKeys]), signerB.KeyID())
	assert.Contains(t, string(files[FileReport]), "each collector of the fleet signs its own chain")

	// Re-signed by a third key, the manifest still naming A's: named under
	// the fleet's two keys as under one.
	res, err = Verify(bytes.NewReader(tamper(t, bundle, "", nil, newSigner(t))), both)
	require.NoError(t, err)
	require.False(t, res.OK)
	assert.Contains(t, strings.Join(res.Problems, "\n"), "manifest.sig: the manifest is not signed by the given key "+signerA.KeyID())

	res = verify(t, bundle, signerA.PublicKey())
	require.False(t, res.OK)
	assert.Contains(t, res.Problems, fmt.Sprintf(`heads.json: a head of chain "sidecar-b": signed by key %s, not by the trusted key %s`, signerB.KeyID(), signerA.KeyID()))

	// A collector's own chain alone needs only its key.
	opts = theDay
	opts.Chains = []string{"sidecar-a"}
	res = verify(t, export(t, reader, signerA, opts), signerA.PublicKey())
	require.True(t, res.OK, res.Problems)
	assert.Equal(t, 2, res.Records)
}
