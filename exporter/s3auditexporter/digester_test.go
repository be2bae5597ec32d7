// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package s3auditexporter

import (
	"context"
	"crypto/ed25519"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/policyaudit/policyaudit/internal/s3digest"
	"github.com/policyaudit/policyaudit/internal/signing"
	"github.com/policyaudit/policyaudit/test/harness"
)

// s3Peer is versitygw with a bucket, and a client on it.
func s3Peer(t *testing.T) (*s3.Client, func()) {
	peer := harness.StartS3(t)
	_, err := peer.AWS(t, "s3api", "create-bucket", "--bucket", "policy-audit")
	require.NoError(t, err)
	for _, kv := range peer.Env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	var trs transports
	client, err := newClient(context.Background(), "us-east-1", peer.Endpoint, true, &trs)
	require.NoError(t, err)
	return client, trs.closeIdle
}

func newSigner(t *testing.T) *signing.Signer {
	return harness.NewSigningKey(t).Signer
}

// readDigest opens the digest at key with the given keys.
func readDigest(t *testing.T, client *s3.Client, key string, keys ...*signing.Signer) s3digest.Signed {
	out, err := client.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String("policy-audit"), Key: aws.String(key)})
	require.NoError(t, err)
	defer out.Body.Close()
	body, err := io.ReadAll(out.Body)
	require.NoError(t, err)
	trusted := map[string]ed25519.PublicKey{}
	for _, k := range keys {
		trusted[k.KeyID()] = k.PublicKey()
	}
	signed, err := s3digest.Open(key, body, out.Metadata[s3digest.MetaSignature], trusted)
	require.NoError(t, err)
	return signed
}

// A digest saved as pending but not uploaded (a crash between the two) is
// uploaded after the restart with the same key and bytes, and lists the
// objects journalled before the crash; a restart with a new key continues
// the chain, naming the old key's last digest.
func TestDigestChainSurvivesACrashAndAKeyRotation(t *testing.T) {
	ctx := context.Background()
	client, closeIdle := s3Peer(t)
	defer closeIdle()
	dir := t.TempDir()
	oldKey, newKey := newSigner(t), newSigner(t)
	clock := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

	d, err := openDigester(dir, client, "policy-audit", "policy-audit/_digest", oldKey, func() time.Time { return clock }, ArchiveConfig{})
	require.NoError(t, err)
	obj := s3digest.Object{Key: "policy-audit/date=2026-11-23/part-logs_x.jsonl.gz", SHA256: "00", Records: 2}
	require.NoError(t, d.record([]s3digest.Object{obj, obj})) // a retried request: listed once
	clock = clock.Add(5 * time.Minute)
	n, err := d.emit(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	first := readDigest(t, client, s3digest.Key("policy-audit/_digest", clock), oldKey)
	assert.Equal(t, []s3digest.Object{obj}, first.Digest.Objects)
	assert.Nil(t, first.Digest.Previous)

	// The crash: the next digest is signed and saved as pending, never uploaded.
	require.NoError(t, d.record([]s3digest.Object{{Key: "k2", SHA256: "11", Records: 1}}))
	clock = clock.Add(5 * time.Minute)
	d.mu.Lock()
	pending, err := d.sign(nil)
	d.mu.Unlock()
	require.NoError(t, err)
	require.NoError(t, d.close())

	// The restart, with a new key.
	d, err = openDigester(dir, client, "policy-audit", "policy-audit/_digest", newKey, func() time.Time { return clock.Add(time.Hour) }, ArchiveConfig{})
	require.NoError(t, err)
	_, err = d.emit(ctx)
	require.NoError(t, err)
	second := readDigest(t, client, pending.Key, oldKey)
	assert.Equal(t, pending.Bytes, second.Bytes, "the pending digest, as it was signed")
	assert.Equal(t, first.AsPrevious(), second.Digest.Previous)
	assert.Equal(t, []s3digest.Object{{Key: "k2", SHA256: "11", Records: 1}}, second.Digest.Objects)

	_, err = d.emit(ctx)
	require.NoError(t, err)
	third := readDigest(t, client, s3digest.Key("policy-audit/_digest", clock.Add(time.Hour)), newKey)
	assert.Equal(t, newKey.KeyID(), third.Digest.KeyID)
	assert.Equal(t, second.AsPrevious(), third.Digest.Previous, "the new key's chain names the old key's last digest")
	assert.Equal(t, oldKey.KeyID(), third.Digest.Previous.KeyID)
	assert.Empty(t, third.Digest.Objects)
	assert.Equal(t, second.Digest.End, third.Digest.Start, "no gap")
	require.NoError(t, d.close())
}
