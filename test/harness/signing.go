// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package harness

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/policyaudit/policyaudit/internal/signing"
)

// SigningKey is an audit store signing key for a test: the private key file
// (POLICYAUDIT_SIGNING_KEY_FILE of the examples) and its public key file.
type SigningKey struct {
	KeyFile, PublicKeyFile string
	Signer                 *signing.Signer
}

// NewSigningKey writes a fresh key pair into the test's temporary directory.
func NewSigningKey(t testing.TB) *SigningKey {
	t.Helper()
	priv, pub, err := signing.GenerateKey()
	require.NoError(t, err)
	dir := t.TempDir()
	k := &SigningKey{KeyFile: filepath.Join(dir, "signing-key.pem"), PublicKeyFile: filepath.Join(dir, "signing-pub.pem")}
	require.NoError(t, os.WriteFile(k.KeyFile, priv, 0o600))
	require.NoError(t, os.WriteFile(k.PublicKeyFile, pub, 0o600))
	k.Signer, err = signing.ParsePrivateKey(priv)
	require.NoError(t, err)
	return k
}

// Env points the examples' signing.key_file at the key.
func (k *SigningKey) Env() string { return "POLICYAUDIT_SIGNING_KEY_FILE=" + k.KeyFile }
