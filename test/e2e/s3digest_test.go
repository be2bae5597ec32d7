// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/policyaudit/policyaudit/internal/s3digest"
	"github.com/policyaudit/policyaudit/test/harness"
)

// verifyS3 runs policyaudit verify s3 against the peer, on the S3
// example's bucket and prefix.
func verifyS3(t *testing.T, s3 *harness.S3, keys ...string) (int, string) {
	t.Helper()
	return verifyS3Trail(t, s3, []string{"--bucket", "policy-audit", "--prefix", "policy-audit"}, keys...)
}

// verifyS3Trail runs policyaudit verify s3 with where the trail is (bucket,
// prefixes) and the public keys.
func verifyS3Trail(t *testing.T, s3 *harness.S3, where []string, keys ...string) (int, string) {
	t.Helper()
	// One clock here: no skew to allow for.
	args := append([]string{"run", "../../cmd/policyaudit", "verify", "s3", "--endpoint", s3.Endpoint, "--clock-skew", "0s"}, where...)
	for _, k := range keys {
		args = append(args, "--public-key", k)
	}
	cmd := exec.Command("go", args...)
	cmd.Env = append(os.Environ(), s3.Env...)
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err, string(out))
	}
	return code, string(out)
}

func s3Keys(t *testing.T, s3 *harness.S3, prefix string) []string {
	out, err := s3.AWS(t, "s3api", "list-objects-v2", "--bucket", "policy-audit", "--prefix", prefix, "--query", "Contents[].Key", "--output", "json")
	require.NoError(t, err)
	var keys []string
	_ = json.Unmarshal(out, &keys)
	sort.Strings(keys)
	return keys
}

func putObject(t *testing.T, s3 *harness.S3, key string, body []byte, extra ...string) {
	file := filepath.Join(t.TempDir(), "body")
	require.NoError(t, os.WriteFile(file, body, 0o600))
	_, err := s3.AWS(t, append([]string{"s3api", "put-object", "--bucket", "policy-audit", "--key", key, "--body", file}, extra...)...)
	require.NoError(t, err)
}

func gzipped(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, err := zw.Write(b)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

// Issue 17, part 4, against a real S3 server: the S3 sidecar writes signed
// digests beside its objects; the untouched trail verifies; then a data
// object deleted, one modified, one added, a digest deleted and a digest
// replaced by one signed with another key are each named.
func TestS3DigestsNameEveryTampering(t *testing.T) {
	s3 := harness.StartS3(t)
	_, err := s3.AWS(t, "s3api", "create-bucket", "--bucket", "policy-audit")
	require.NoError(t, err)
	key := harness.NewSigningKey(t)
	env := append([]string{
		"POLICYAUDIT_RECEIVER_TOKEN=receiver-token",
		"POLICYAUDIT_S3_BUCKET=policy-audit",
		"POLICYAUDIT_S3_ENDPOINT=" + s3.Endpoint,
		"POLICYAUDIT_S3_DIGEST_INTERVAL=1s",
		key.Env(),
	}, s3.Env...)
	examples := filepath.Join(harness.Root, "config", "examples")
	c := harness.StartCollector(t, env, filepath.Join(examples, "common.yaml"), filepath.Join(examples, "s3.yaml"))
	harness.PostFixtures(t, c.URL, "receiver-token")
	time.Sleep(2 * time.Second)
	harness.PostFixtures(t, c.URL, "receiver-token") // a replay: the same objects, the same keys
	time.Sleep(6 * time.Second)
	c.Stop(t) // writes a last digest

	data := func() []string {
		var out []string
		for _, k := range s3Keys(t, s3, "policy-audit/date=") {
			out = append(out, k)
		}
		return out
	}
	objects := data()
	require.Len(t, objects, 3, "one object per date partition; the replay wrote the same keys")
	digests := s3Keys(t, s3, "policy-audit/_digest/")
	var digestKeys, empty []string
	for _, k := range digests {
		if s3digest.IsDigestKey(k) {
			digestKeys = append(digestKeys, k)
			assert.Contains(t, digests, k+s3digest.SignatureSuffix, "the detached signature")
			body, err := s3.AWS(t, "s3", "cp", "s3://policy-audit/"+k, "-")
			require.NoError(t, err)
			var d s3digest.Digest
			require.NoError(t, json.Unmarshal(body, &d))
			if len(d.Objects) == 0 {
				empty = append(empty, k)
			}
		}
	}
	require.GreaterOrEqual(t, len(empty), 4, "a digest a second, also when nothing was written")

	code, out := verifyS3(t, s3, key.PublicKeyFile)
	require.Equal(t, 0, code, out)
	assert.Regexp(t, `ok: \d+ digests from .* 3 objects, 14 records, every signature and hash verified`, out)
	code, out = verifyS3(t, s3, harness.NewSigningKey(t).PublicKeyFile)
	assert.Equal(t, 1, code, "another key verifies nothing: %s", out)

	// Issue 25, part 3: the whole trail copied into another bucket, or under
	// another prefix of this one, does not verify as that place's own.
	t.Run("copied elsewhere", func(t *testing.T) {
		_, err := s3.AWS(t, "s3api", "create-bucket", "--bucket", "elsewhere")
		require.NoError(t, err)
		_, err = s3.AWS(t, "s3", "cp", "--recursive", "s3://policy-audit/policy-audit/", "s3://elsewhere/policy-audit/")
		require.NoError(t, err)
		code, out := verifyS3Trail(t, s3, []string{"--bucket", "elsewhere", "--prefix", "policy-audit"}, key.PublicKeyFile)
		assert.Equal(t, 1, code, out)
		assert.Contains(t, out, "was written for s3://policy-audit/policy-audit/_digest, not for s3://elsewhere/policy-audit/_digest: the trail was copied from elsewhere")
		_, err = s3.AWS(t, "s3", "cp", "--recursive", "s3://policy-audit/policy-audit/", "s3://policy-audit/copy/")
		require.NoError(t, err)
		code, out = verifyS3Trail(t, s3, []string{"--bucket", "policy-audit", "--prefix", "copy"}, key.PublicKeyFile)
		assert.Equal(t, 1, code, out)
		assert.Contains(t, out, "not for s3://policy-audit/copy/_digest")
		_, err = s3.AWS(t, "s3", "rm", "--recursive", "s3://policy-audit/copy/")
		require.NoError(t, err)
	})

	// The tampering.
	deleted, modified := objects[0], objects[1]
	_, err = s3.AWS(t, "s3", "rm", "s3://policy-audit/"+deleted)
	require.NoError(t, err)
	putObject(t, s3, modified, gzipped(t, []byte(`{"decision":"allow"}`)))
	added := "policy-audit/date=2026-03-02/part-logs_0190f000-0000-7000-8000-000000000000.jsonl.gz"
	putObject(t, s3, added, gzipped(t, []byte(`{"decision":"allow"}`)))
	// Two digests of the quiet seconds, each with a successor that names it
	// (one listing objects would also hide them: named as objects in no digest).
	droppedDigest, forgedDigest := empty[0], empty[2]
	_, err = s3.AWS(t, "s3", "rm", "s3://policy-audit/"+droppedDigest)
	require.NoError(t, err)
	body, err := s3.AWS(t, "s3", "cp", "s3://policy-audit/"+forgedDigest, "-")
	require.NoError(t, err)
	var d s3digest.Digest
	require.NoError(t, json.Unmarshal(body, &d))
	d.Objects = nil // hide what it listed
	forger := harness.NewSigningKey(t)
	forged, err := s3digest.Sign(forger.Signer, forgedDigest, d)
	require.NoError(t, err)
	putObject(t, s3, forgedDigest, forged.Bytes, "--metadata", "signature="+forged.Signature+",key-id="+forger.Signer.KeyID())
	putObject(t, s3, forgedDigest+s3digest.SignatureSuffix, []byte(forged.Signature))

	// The collector runs on: its next digests cover the time the object was added.
	c.Restart(t)
	time.Sleep(3 * time.Second)
	c.Stop(t)

	code, out = verifyS3(t, s3, key.PublicKeyFile)
	assert.Equal(t, 1, code, out)
	for _, want := range []string{
		"object " + deleted + ", listed in digest .*, is missing",
		"object " + modified + ", listed in digest .*, was modified",
		"object " + added + " is in no digest: it was added",
		"digest " + droppedDigest + ", named by .*, is missing",
		"digest " + forgedDigest + " is forged: signed by key " + forger.Signer.KeyID() + ", which is not a trusted key",
	} {
		assert.Regexp(t, regexp.QuoteMeta(strings.Split(want, ".*")[0]), out)
		assert.Regexp(t, want, out)
	}
}
