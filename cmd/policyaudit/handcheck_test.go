// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/policyaudit/policyaudit/internal/signing"
)

// recipes are the shell blocks of docs/records.md section 8, verbatim.
func recipes(t *testing.T) []string {
	doc, err := os.ReadFile("../../docs/records.md")
	require.NoError(t, err)
	_, section, ok := strings.Cut(string(doc), "## 8. Recomputing a link by hand")
	require.True(t, ok)
	var out []string
	for _, m := range regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(section, -1) {
		out = append(out, m[1])
	}
	require.Len(t, out, 3)
	return out
}

// The documented commands recompute a link from the database and from an
// export, and verify a signed head with OpenSSL, as an auditor with only
// their own tools would.
func TestRecomputeALinkByHandAsDocumented(t *testing.T) {
	for _, tool := range []string{"bash", "sqlite3", "jq", "openssl", "sha256sum", "base64"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (.ci/run installs it)", tool)
		}
	}
	ctx := context.Background()
	dir := t.TempDir()
	_, pubFile, _ := keyPairIn(t, dir)
	keyPEM, err := os.ReadFile(filepath.Join(dir, "key.pem"))
	require.NoError(t, err)
	signer, err := signing.ParsePrivateKey(keyPEM)
	require.NoError(t, err)
	require.Equal(t, filepath.Join(dir, "pub.pem"), pubFile)

	path, st := signedStoreWith(t, 6, signer)
	head, err := json.Marshal(st.LastSignedHead())
	require.NoError(t, err)
	row, _, err := st.Get(ctx, "ev-5")
	require.NoError(t, err)
	require.NoError(t, st.Close())
	require.Equal(t, int64(5), row.Seq)
	require.NoError(t, os.Rename(path, filepath.Join(dir, "audit.db")))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "head.json"), head, 0o600))
	code, exported := policyaudit("export", filepath.Join(dir, "audit.db"))
	require.Equal(t, 0, code, exported)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "chain.jsonl"), []byte(exported), 0o600))

	run := func(script string) string {
		cmd := exec.Command("bash", "-euo", "pipefail", "-c", script)
		cmd.Dir = dir
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		require.NoError(t, cmd.Run(), "%s\n%s", script, out.String())
		return out.String()
	}
	r := recipes(t)
	fromDB := strings.Fields(run(r[0]))
	require.Len(t, fromDB, 3, "the stored hash, then the recomputed one and '-'")
	assert.Equal(t, row.Hash, fromDB[0])
	assert.Equal(t, row.Hash, fromDB[1])
	assert.Equal(t, row.Hash, strings.Fields(run(r[1]))[0])
	assert.Contains(t, run(r[2]), "Signature Verified Successfully")
}

// keyPairIn runs keygen into dir and returns the private and public key
// files and what keygen printed.
func keyPairIn(t *testing.T, dir string) (priv, pub, printed string) {
	priv, pub = filepath.Join(dir, "key.pem"), filepath.Join(dir, "pub.pem")
	code, out := policyaudit("keygen", "--private-key", priv, "--public-key", pub)
	require.Equal(t, 0, code, out)
	return priv, pub, out
}
