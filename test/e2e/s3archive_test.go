// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/policyaudit/policyaudit/internal/s3digest"
	"github.com/policyaudit/policyaudit/test/harness"
	"github.com/policyaudit/policyaudit/test/peers/s3sse"
)

// Issue 31, part 2: s3.yaml with archive controls on a bucket created with
// Object Lock, in versitygw (which enforces retention and legal holds) behind
// the SSE contract peer (versitygw keeps no server-side encryption): every
// object, digest and signature is written encrypted and locked, the digests
// record it, a locked object can be neither deleted nor overwritten, and
// `verify s3` names a retention shortened with the governance bypass and an
// object stored unencrypted.
func TestS3ArchiveIsLockedAndEncrypted(t *testing.T) {
	s3 := harness.StartS3(t)
	_, err := s3.AWS(t, "s3api", "create-bucket", "--bucket", "policy-audit", "--object-lock-enabled-for-bucket")
	require.NoError(t, err)
	sse, err := s3sse.Start(s3.Endpoint)
	require.NoError(t, err)
	defer sse.Close()
	key := harness.NewSigningKey(t)
	env := append([]string{
		"POLICYAUDIT_RECEIVER_TOKEN=receiver-token",
		"POLICYAUDIT_S3_BUCKET=policy-audit",
		"POLICYAUDIT_S3_ENDPOINT=" + sse.URL,
		"POLICYAUDIT_S3_DIGEST_INTERVAL=1s",
		"POLICYAUDIT_S3_ENCRYPTION=AES256",
		"POLICYAUDIT_S3_LOCK_MODE=GOVERNANCE",
		"POLICYAUDIT_S3_RETENTION_DAYS=30",
		key.Env(),
	}, s3.Env...)
	examples := filepath.Join(harness.Root, "config", "examples")
	c := harness.StartCollector(t, env, filepath.Join(examples, "common.yaml"), filepath.Join(examples, "s3.yaml"))
	harness.PostFixtures(t, c.URL, "receiver-token")
	time.Sleep(2 * time.Second)
	harness.PostFixtures(t, c.URL, "receiver-token") // a replay: the same keys, already locked
	time.Sleep(3 * time.Second)
	c.Stop(t)
	written := time.Now()

	objects := s3Keys(t, s3, "policy-audit/date=")
	require.Len(t, objects, 3, "the replay's objects are the locked ones, not new ones")
	digests := s3Keys(t, s3, "policy-audit/_digest/")
	require.NotEmpty(t, digests)
	for _, k := range append(append([]string{}, objects...), digests...) {
		alg, _ := sse.Encryption("/policy-audit/" + k)
		assert.Equal(t, "AES256", alg, "%s was written with SSE-S3", k)
		out, err := s3.AWS(t, "s3api", "get-object-retention", "--bucket", "policy-audit", "--key", k)
		require.NoError(t, err, k)
		var r struct {
			Retention struct{ Mode, RetainUntilDate string }
		}
		require.NoError(t, json.Unmarshal(out, &r))
		assert.Equal(t, "GOVERNANCE", r.Retention.Mode, k)
		until, err := time.Parse(time.RFC3339, r.Retention.RetainUntilDate)
		require.NoError(t, err, k)
		assert.WithinDuration(t, written.AddDate(0, 0, 30), until, time.Minute, k)
	}
	// The digests record what each object was written with.
	var listed []s3digest.Object
	for _, k := range digests {
		if !s3digest.IsDigestKey(k) {
			continue
		}
		body, err := s3.AWS(t, "s3", "cp", "s3://policy-audit/"+k, "-")
		require.NoError(t, err)
		var d s3digest.Digest
		require.NoError(t, json.Unmarshal(body, &d))
		listed = append(listed, d.Objects...)
	}
	require.NotEmpty(t, listed)
	for _, o := range listed {
		assert.Equal(t, "AES256", o.Encryption, o.Key)
		assert.Equal(t, "GOVERNANCE", o.LockMode, o.Key)
		assert.NotEmpty(t, o.RetainUntil, o.Key)
	}

	// Neither deleted nor overwritten before the date: the test tries.
	for what, args := range map[string][]string{
		"a locked object is deleted":     {"s3api", "delete-object", "--bucket", "policy-audit", "--key", objects[0]},
		"a locked digest is deleted":     {"s3api", "delete-object", "--bucket", "policy-audit", "--key", digests[0]},
		"a locked object is overwritten": {"s3api", "put-object", "--bucket", "policy-audit", "--key", objects[0], "--body", filepath.Join(harness.Root, "LICENSE")},
	} {
		_, err := s3.AWS(t, args...)
		var refused *exec.ExitError
		require.ErrorAs(t, err, &refused, what)
		assert.Contains(t, string(refused.Stderr), "AccessDenied", what)
	}

	verify := func() (int, string) {
		return verifyS3Trail(t, &harness.S3{Endpoint: sse.URL, Env: s3.Env}, []string{"--bucket", "policy-audit", "--prefix", "policy-audit"}, key.PublicKeyFile)
	}
	code, out := verify()
	require.Equal(t, 0, code, out)

	// A governance retention shortened by someone allowed to bypass it, and
	// an object rewritten unencrypted: each named.
	_, err = s3.AWS(t, "s3api", "put-object-retention", "--bucket", "policy-audit", "--key", objects[1], "--bypass-governance-retention",
		"--retention", "Mode=GOVERNANCE,RetainUntilDate="+written.AddDate(0, 0, 1).UTC().Format(time.RFC3339))
	require.NoError(t, err)
	sse.Decrypt("/policy-audit/" + objects[2])
	code, out = verify()
	assert.Equal(t, 1, code, out)
	assert.Contains(t, out, "object "+objects[1]+", listed in digest")
	assert.Regexp(t, `object `+objects[1]+`, listed in digest \S+: its retention was shortened from \S+ to `+written.AddDate(0, 0, 1).UTC().Format("2006-01-02"), out)
	assert.Regexp(t, `object `+objects[2]+`, listed in digest \S+, is stored unencrypted, the digest says encrypted with AES256`, out)
}
