// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
	_ "modernc.org/sqlite"

	"github.com/policyaudit/policyaudit/internal/auditstore"
	"github.com/policyaudit/policyaudit/internal/pdatajson"
	"github.com/policyaudit/policyaudit/internal/s3client"
	"github.com/policyaudit/policyaudit/internal/s3digest"
	"github.com/policyaudit/policyaudit/test/harness"
)

// s3HeadOverlay is the shipped sidecar's (all.yaml) digest.audit_store
// block, for a collector of auditstore.yaml and s3.yaml, with heads signed
// every second so the test need not wait a minute.
func s3HeadOverlay(t *testing.T) string {
	b, err := os.ReadFile(filepath.Join(harness.Root, "config", "examples", "all.yaml"))
	require.NoError(t, err)
	var all struct {
		Exporters struct {
			S3audit struct {
				Digest struct {
					AuditStore map[string]any `yaml:"audit_store"`
				} `yaml:"digest"`
			} `yaml:"s3audit"`
		} `yaml:"exporters"`
	}
	require.NoError(t, yaml.Unmarshal(b, &all))
	block := all.Exporters.S3audit.Digest.AuditStore
	require.NotEmpty(t, block, "all.yaml sends the store's head to S3 with no operator action")
	overlay := map[string]any{
		"extensions": map[string]any{"auditstore": map[string]any{"signing": map[string]any{"interval": "1s"}}},
		"exporters":  map[string]any{"s3audit": map[string]any{"digest": map[string]any{"audit_store": block}}},
	}
	out, err := yaml.Marshal(overlay)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "s3head.yaml")
	require.NoError(t, os.WriteFile(path, out, 0o600))
	return path
}

// s3HeadSeqs are the seqs of the audit store heads the digests carry.
func s3HeadSeqs(t *testing.T, client *s3.Client) map[int64]bool {
	ctx := context.Background()
	seqs := map[int64]bool{}
	pages := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: aws.String("policy-audit"), Prefix: aws.String("policy-audit/_digest/")})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		require.NoError(t, err)
		for _, o := range page.Contents {
			if !s3digest.IsDigestKey(aws.ToString(o.Key)) {
				continue
			}
			out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("policy-audit"), Key: o.Key})
			require.NoError(t, err)
			body, err := io.ReadAll(out.Body)
			out.Body.Close()
			require.NoError(t, err)
			var d s3digest.Digest
			require.NoError(t, json.Unmarshal(body, &d))
			if d.AuditStoreHead != nil {
				var st auditstore.HeadStatement
				require.NoError(t, json.Unmarshal(d.AuditStoreHead.Statement, &st))
				seqs[st.Seq] = true
			}
		}
	}
	return seqs
}

// sqliteFiles copies a database and its WAL files.
func sqliteFiles(t *testing.T, from, to string) {
	for _, suffix := range []string{"", "-wal", "-shm"} {
		b, err := os.ReadFile(from + suffix)
		if os.IsNotExist(err) {
			_ = os.Remove(to + suffix)
			continue
		}
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(to+suffix, b, 0o600))
	}
}

// rewriteFrom plays the attacker of issue 25 with the disk and the
// documented link formula (docs/records.md, section 8): every record from
// seq on becomes an allow, the links are recomputed, and the signed heads
// that covered them are deleted.
func rewriteFrom(t *testing.T, db string, seq int64) {
	conn, err := sql.Open("sqlite", "file:"+db)
	require.NoError(t, err)
	defer conn.Close()
	var prev string
	require.NoError(t, conn.QueryRow(`SELECT hash FROM records WHERE seq = ?`, seq-1).Scan(&prev))
	rows, err := conn.Query(`SELECT seq, stored_ms, record FROM records WHERE seq >= ? ORDER BY seq`, seq)
	require.NoError(t, err)
	type link struct {
		seq, storedMS int64
		record        string
	}
	var links []link
	for rows.Next() {
		var l link
		require.NoError(t, rows.Scan(&l.seq, &l.storedMS, &l.record))
		links = append(links, l)
	}
	require.NoError(t, rows.Close())
	for _, l := range links {
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(l.record), &rec))
		for _, field := range []string{"decision", "effective_decision"} {
			rec[field] = "allow"
		}
		canonical, err := json.Marshal(rec) // sorted keys, ASCII-safe fixtures: the RFC 8785 form here
		require.NoError(t, err)
		sum := sha256.Sum256([]byte("policyaudit.link.v2\n" + strconv.FormatInt(l.seq, 10) + "\n" + strconv.FormatInt(l.storedMS, 10) + "\n" + prev + "\n" + string(canonical)))
		hash := hex.EncodeToString(sum[:])
		_, err = conn.Exec(`UPDATE records SET record = ?, decision = 'allow', effective_decision = 'allow', prev_hash = ?, hash = ? WHERE seq = ?`, string(canonical), prev, hash, l.seq)
		require.NoError(t, err)
		prev = hash
	}
	_, err = conn.Exec(`DELETE FROM signed_heads WHERE seq >= ?`, seq)
	require.NoError(t, err)
}

// verifyStore runs policyaudit verify on a database file.
func verifyStore(t *testing.T, env []string, args ...string) (int, string) {
	cmd := exec.Command("go", append([]string{"run", "../../cmd/policyaudit", "verify"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), string(out)
	}
	require.NoError(t, err, string(out))
	return 0, string(out)
}

// Issue 25, parts 1 and 2 against a real S3 server: the shipped digest
// trail carries the store's signed heads, and verify --from-s3 names a
// rolled-back store, a cut tail and a rewrite countersigned by a restart,
// with no head file kept by hand.
func TestStoreHeadsInS3CatchRollbackCutAndRewrite(t *testing.T) {
	s3peer := harness.StartS3(t)
	_, err := s3peer.AWS(t, "s3api", "create-bucket", "--bucket", "policy-audit")
	require.NoError(t, err)
	for _, kv := range s3peer.Env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	client, err := s3client.New(context.Background(), "us-east-1", s3peer.Endpoint, true)
	require.NoError(t, err)
	key := harness.NewSigningKey(t)
	env := append([]string{
		"POLICYAUDIT_RECEIVER_TOKEN=" + token, key.Env(),
		"POLICYAUDIT_S3_BUCKET=policy-audit", "POLICYAUDIT_S3_ENDPOINT=" + s3peer.Endpoint,
		"POLICYAUDIT_S3_DIGEST_INTERVAL=1s",
	}, s3peer.Env...)
	examples := filepath.Join(harness.Root, "config", "examples")
	// auditstore.yaml after s3.yaml: its service.extensions (a list, which a
	// later file replaces) is the one that names the store.
	c := harness.StartCollector(t, env, filepath.Join(examples, "common.yaml"), filepath.Join(examples, "s3.yaml"),
		filepath.Join(examples, "auditstore.yaml"), s3HeadOverlay(t))
	db := filepath.Join(c.DataDir, "audit.db")
	waitForHead := func(seq int64) {
		require.Eventually(t, func() bool { return s3HeadSeqs(t, client)[seq] }, 30*time.Second, 500*time.Millisecond,
			"no digest carries the head at seq %d:\n%s", seq, c.Log)
	}
	post := func(prefix string, from int) {
		status, body, err := harness.Post(c.URL, token, harness.Decisions(prefix, from, 10))
		require.NoError(t, err)
		require.Less(t, status, 300, body)
	}

	post("a", 1)
	waitForHead(10)
	c.Stop(t)
	backup := filepath.Join(t.TempDir(), "backup.db")
	sqliteFiles(t, db, backup)
	c.Restart(t)
	post("b", 11)
	waitForHead(20)
	c.Stop(t)
	final := filepath.Join(t.TempDir(), "final.db")
	sqliteFiles(t, db, final)

	fromS3 := []string{"--public-key", key.PublicKeyFile, "--from-s3", "s3://policy-audit/policy-audit/_digest", "--s3-endpoint", s3peer.Endpoint}
	code, out := verifyStore(t, s3peer.Env, append(fromS3, db)...)
	require.Equal(t, 0, code, out)
	assert.Contains(t, out, "up to the head at seq 20")
	assert.Contains(t, out, "signed head at seq 20; 0 records after it unsigned")

	t.Run("rolled back", func(t *testing.T) {
		sqliteFiles(t, backup, db)
		code, out := verifyStore(t, nil, "--public-key", key.PublicKeyFile, db)
		assert.Equal(t, 0, code, "every signature in the old file is valid: %s", out)
		code, out = verifyStore(t, s3peer.Env, append(fromS3, db)...)
		assert.Equal(t, 1, code, out)
		assert.Contains(t, out, "BROKEN at seq 11: the chain ends at seq 10, before the head at seq 20")
	})
	t.Run("tail cut", func(t *testing.T) {
		sqliteFiles(t, final, db)
		tamper(t, db, `DELETE FROM records WHERE seq > 15`, `DELETE FROM signed_heads WHERE seq > 15`)
		code, out := verifyStore(t, s3peer.Env, append(fromS3, db)...)
		assert.Equal(t, 1, code, out)
		assert.Contains(t, out, "BROKEN at seq 16: the chain ends at seq 15, before the head at seq 20")
	})
	t.Run("a digest carrying a head another key signed", func(t *testing.T) {
		// Someone with the host feeds the exporter a head of their own: the
		// digest is genuine, the head is not, and that is named.
		sqliteFiles(t, final, db)
		forger := harness.NewSigningKey(t).Signer
		statement, err := pdatajson.CanonicalJSON(auditstore.HeadStatement{Type: auditstore.HeadStatementType, KeyID: forger.KeyID(),
			Seq: 20, Hash: strings.Repeat("0", 64), SignedAt: "2026-12-06T00:00:00Z", Reason: "shutdown", VouchedFrom: 1})
		require.NoError(t, err)
		end := time.Now().Add(time.Hour).UTC()
		digest, err := s3digest.Sign(key.Signer, s3digest.Key("policy-audit/_digest", end), s3digest.Digest{
			Bucket: "policy-audit", DigestPrefix: "policy-audit/_digest", Start: end.Add(-time.Second).Format(s3digest.TimeLayout), End: end.Format(s3digest.TimeLayout),
			AuditStoreHead: &auditstore.SignedHead{Statement: statement, Signature: forger.SignBase64(statement)}})
		require.NoError(t, err)
		putObject(t, s3peer, digest.Key, digest.Bytes, "--metadata", s3digest.MetaSignature+"="+digest.Signature)
		code, out := verifyStore(t, s3peer.Env, append(fromS3, db)...)
		assert.Equal(t, 1, code, out)
		assert.Contains(t, out, "BROKEN in S3: the audit store head in digest "+digest.Key+": signed by key "+forger.KeyID())
		_, err = s3peer.AWS(t, "s3", "rm", "s3://policy-audit/"+digest.Key)
		require.NoError(t, err)
	})
	t.Run("rewrite countersigned by a restart", func(t *testing.T) {
		sqliteFiles(t, final, db)
		rewriteFrom(t, db, 5)
		c.Restart(t)
		c.Stop(t)
		assert.Contains(t, c.Log.String(), `"from_seq": 1, "to_seq": 20`, "the restart says what it found unsigned")
		code, out := verifyStore(t, nil, "--public-key", key.PublicKeyFile, db)
		assert.Equal(t, 0, code, out)
		assert.Contains(t, out, "no signed head yet; 20 records unsigned", "the restart signed nothing it found")
		code, out = verifyStore(t, s3peer.Env, append(fromS3, db)...)
		assert.Equal(t, 1, code, out)
		assert.Contains(t, out, "BROKEN at seq 1: the chain from seq 1 to 10 is not what the head signed or expected at seq 10 covers")
	})
}

// tamper runs statements on a database file, as someone with the disk.
func tamper(t *testing.T, db string, stmts ...string) {
	conn, err := sql.Open("sqlite", "file:"+db)
	require.NoError(t, err)
	defer conn.Close()
	for _, q := range stmts {
		_, err := conn.Exec(q)
		require.NoError(t, err, q)
	}
}
