// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package s3auditexporter

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/policyaudit/policyaudit/exporter/s3auditexporter/internal/metadata"
	"github.com/policyaudit/policyaudit/internal/s3digest"
	"github.com/policyaudit/policyaudit/test/harness"
)

// Issue 26: every object the exporter uploads is read back and checked
// against its digest entry: the SHA-256 of its uncompressed content, and its
// record count (a hash of the gzip bytes would fail here, not only in the
// end-to-end test).
func TestUploadedObjectsMatchTheirDigestEntries(t *testing.T) {
	ctx := context.Background()
	client, closeIdle := s3Peer(t)
	defer closeIdle()
	key := harness.NewSigningKey(t)
	cfg := createDefaultConfig()
	cfg.Bucket, cfg.Endpoint, cfg.ForcePathStyle = "policy-audit", aws.ToString(client.Options().BaseEndpoint), true
	cfg.Prefix = "policy-audit/undated"
	cfg.Digest.Prefix, cfg.Digest.KeyFile, cfg.Digest.Directory = "policy-audit/_digest", key.KeyFile, t.TempDir()
	require.NoError(t, cfg.Validate())
	exp, err := newS3Audit(exportertest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	require.NoError(t, exp.start(ctx, componenttest.NewNopHost()))

	ld := plog.NewLogs()
	for i, prefix := range []string{"policy-audit/date=2026-03-01", "policy-audit/date=2026-03-02", ""} {
		rl := ld.ResourceLogs().AppendEmpty()
		if prefix != "" {
			rl.Resource().Attributes().PutStr(cfg.PrefixAttribute, prefix)
		}
		lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
		for j := 0; j <= i; j++ {
			m := lrs.AppendEmpty().Body().SetEmptyMap()
			m.PutStr("created_at", "2026-03-02T10:00:0"+string(rune('0'+j))+".000Z")
			m.PutStr("decision", "deny")
			m.PutStr("note", strings.Repeat("ü", 50)) // content that gzip shrinks
		}
	}
	require.NoError(t, exp.pushLogs(ctx, ld))
	require.NoError(t, exp.shutdown(ctx)) // writes the digest

	out, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("policy-audit"), Prefix: aws.String("policy-audit/_digest/")})
	require.NoError(t, err)
	var entries []s3digest.Object
	for _, o := range out.Contents {
		if s3digest.IsDigestKey(aws.ToString(o.Key)) {
			entries = append(entries, readDigest(t, client, aws.ToString(o.Key), key.Signer).Digest.Objects...)
		}
	}
	require.Len(t, entries, 3, "one object per prefix")
	for _, entry := range entries {
		obj, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("policy-audit"), Key: aws.String(entry.Key)})
		require.NoError(t, err)
		zr, err := gzip.NewReader(obj.Body)
		require.NoError(t, err)
		content, err := io.ReadAll(zr)
		require.NoError(t, err)
		obj.Body.Close()
		sum := sha256.Sum256(content)
		assert.Equal(t, entry.SHA256, hex.EncodeToString(sum[:]), entry.Key)
		lines := 0
		for sc := bufio.NewScanner(bytes.NewReader(content)); sc.Scan(); {
			lines++
		}
		assert.Equal(t, entry.Records, lines, entry.Key)
	}
}
