// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/policyaudit/policyaudit/internal/auditstore"
	"github.com/policyaudit/policyaudit/internal/signing"
)

// keyPair runs keygen and returns the private and public key files.
func keyPair(t *testing.T) (string, string) {
	priv, pub, out := keyPairIn(t, t.TempDir())
	info, err := os.Stat(priv)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	code, again := policyaudit("keygen", "--private-key", priv)
	assert.Equal(t, 2, code, "an existing key is never overwritten: %s", again)
	code, printed := policyaudit("pubkey", priv)
	require.Equal(t, 0, code)
	pubPEM, err := os.ReadFile(pub)
	require.NoError(t, err)
	assert.Equal(t, out, printed)
	assert.True(t, strings.HasSuffix(out, string(pubPEM)))
	return priv, pub
}

// keygenSigner is a key pair from keygen: its signer and its public key file.
func keygenSigner(t *testing.T) (*signing.Signer, string) {
	priv, pub := keyPair(t)
	keyPEM, err := os.ReadFile(priv)
	require.NoError(t, err)
	signer, err := signing.ParsePrivateKey(keyPEM)
	require.NoError(t, err)
	return signer, pub
}

func TestVerifyWithPublicKeyAndSignedHead(t *testing.T) {
	signer, pub := keygenSigner(t)

	path, st := signedStoreWith(t, 5, signer)
	head, err := json.Marshal(st.LastSignedHead())
	require.NoError(t, err)
	require.NoError(t, st.Close())
	headFile := filepath.Join(t.TempDir(), "head.json")
	require.NoError(t, os.WriteFile(headFile, head, 0o600))

	code, out := policyaudit("verify", "--public-key", pub, "--signed-head", headFile, path)
	assert.Equal(t, 0, code, out)
	assert.Contains(t, out, "anchored by key "+signer.KeyID()+": signed head at seq 5; 0 records after it unsigned")

	_, otherPub := keyPair(t)
	code, out = policyaudit("verify", "--public-key", otherPub, path)
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "BROKEN at seq 5: the signed head at seq 5: signed by key "+signer.KeyID())
	code, out = policyaudit("verify", "--public-key", otherPub, "--signed-head", headFile, path)
	assert.Equal(t, 2, code, "a signed head from another key is not trusted: %s", out)

	tamper(t, path, `DELETE FROM records WHERE seq = 5`)
	code, out = policyaudit("verify", "--public-key", pub, "--signed-head", headFile, path)
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "BROKEN at seq 5: the chain ends at seq 4")
}

// Issue 25: records a killed process appended are named as unvouched once a
// later process signs, with their own exit status.
func TestVerifyNamesUnvouchedRecords(t *testing.T) {
	signer, pub := keygenSigner(t)
	path, st := signedStoreWith(t, 5, signer)
	require.NoError(t, st.Close())

	st, err := auditstore.Open(context.Background(), path, auditstore.WithSigner(signer, 0))
	require.NoError(t, err)
	appendRecords(t, st, 6, 7)
	require.NoError(t, st.Close()) // killed: 6 and 7 never signed
	code, out := policyaudit("verify", "--public-key", pub, path)
	assert.Equal(t, 0, code, out)
	assert.Contains(t, out, "signed head at seq 5; 2 records after it unsigned")

	st, err = auditstore.Open(context.Background(), path, auditstore.WithSigner(signer, 0))
	require.NoError(t, err)
	appendRecords(t, st, 8, 8)
	require.NoError(t, st.SignHead(context.Background(), auditstore.SignedForShutdown))
	require.NoError(t, st.Close())
	code, out = policyaudit("verify", "--public-key", pub, path)
	assert.Equal(t, exitUnvouched, code, out)
	assert.Contains(t, out, "signed head at seq 8; 0 records after it unsigned")
	assert.Contains(t, out, "UNVOUCHED seq 6 to 7: appended by a process that stopped before signing them")
}
