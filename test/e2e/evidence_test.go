// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/policyaudit/policyaudit/internal/auditstore"
	"github.com/policyaudit/policyaudit/internal/evidence"
	"github.com/policyaudit/policyaudit/test/harness"
	"github.com/policyaudit/policyaudit/test/peers/pgpeer"
)

// auditstore.yaml with an evidence target: after each period the store
// writes the period's signed bundle to S3, locked; each verifies offline,
// and together they hold every record posted.
func TestTheStoreWritesAnEvidenceBundleEveryPeriod(t *testing.T) {
	s3 := harness.StartS3(t)
	_, err := s3.AWS(t, "s3api", "create-bucket", "--bucket", "evidence", "--object-lock-enabled-for-bucket")
	require.NoError(t, err)
	key := harness.NewSigningKey(t)
	examples := filepath.Join(harness.Root, "config", "examples")
	c := harness.StartCollector(t, append([]string{key.Env(), "POLICYAUDIT_RECEIVER_TOKEN=" + harness.ReceiverToken,
		"POLICYAUDIT_EVIDENCE_TARGET=s3://evidence/bundles", "POLICYAUDIT_EVIDENCE_PERIOD=2s", "POLICYAUDIT_EVIDENCE_DELAY=3s", "POLICYAUDIT_S3_ENDPOINT=" + s3.Endpoint,
		"POLICYAUDIT_EVIDENCE_LOCK_MODE=GOVERNANCE", "POLICYAUDIT_EVIDENCE_RETENTION_DAYS=1"}, s3.Env...),
		filepath.Join(examples, "common.yaml"), filepath.Join(examples, "auditstore.yaml"))

	const n = 6
	for i := range n {
		line := fmt.Sprintf(`{"policy_id":"p","decision":"deny","request_id":"ev-%d","created_at":%q}`+"\n", i, time.Now().UTC().Format(time.RFC3339Nano))
		status, _, err := harness.Post(c.URL, harness.ReceiverToken, []byte(line))
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, status)
		time.Sleep(700 * time.Millisecond)
	}
	pub := key.Signer.PublicKey()
	var keys []string
	records := 0
	require.Eventually(t, func() bool {
		out, err := s3.AWS(t, "s3api", "list-objects-v2", "--bucket", "evidence", "--prefix", "bundles/", "--query", "Contents[].Key", "--output", "json")
		if err != nil {
			return false
		}
		keys = nil
		_ = json.Unmarshal(out, &keys)
		records = 0
		for _, k := range keys {
			body, err := s3.AWS(t, "s3", "cp", "s3://evidence/"+k, "-")
			require.NoError(t, err)
			res, err := evidence.Verify(bytes.NewReader(body), auditstore.NewKeyring(pub))
			require.NoError(t, err, k)
			require.True(t, res.OK, "%s: %v", k, res.Problems)
			records += res.Records
		}
		return records >= n
	}, 30*time.Second, time.Second, "the bundles do not hold the %d records:\n%s", n, c.Log)
	assert.Equal(t, n, records, "each record in exactly one period's bundle")
	for _, k := range keys {
		assert.Regexp(t, `^bundles/date=\d{4}-\d{2}-\d{2}/evidence_\d{8}T\d{6}Z_\d{8}T\d{6}Z\.tar\.gz$`, k)
	}
	_, err = s3.AWS(t, "s3api", "delete-object", "--bucket", "evidence", "--key", keys[0])
	var refused *exec.ExitError
	require.ErrorAs(t, err, &refused, "a locked bundle is deleted")
	assert.True(t, strings.Contains(string(refused.Stderr), "AccessDenied"), string(refused.Stderr))
}

// s3.yaml with auditstore.yaml: evidence export carries the S3 digests
// over the range, read from the bucket with the collector's own config;
// the bundle verifies offline with the one public key, and a digest
// deleted from the bucket stops the export, named.
func TestAnEvidenceBundleCarriesTheS3DigestsOverItsRange(t *testing.T) {
	s3peer := harness.StartS3(t)
	_, err := s3peer.AWS(t, "s3api", "create-bucket", "--bucket", "policy-audit")
	require.NoError(t, err)
	key := harness.NewSigningKey(t)
	env := append([]string{"POLICYAUDIT_RECEIVER_TOKEN=" + harness.ReceiverToken, key.Env(),
		"POLICYAUDIT_S3_BUCKET=policy-audit", "POLICYAUDIT_S3_ENDPOINT=" + s3peer.Endpoint, "POLICYAUDIT_S3_DIGEST_INTERVAL=1s",
	}, s3peer.Env...)
	examples := filepath.Join(harness.Root, "config", "examples")
	configs := []string{filepath.Join(examples, "common.yaml"), filepath.Join(examples, "s3.yaml"), filepath.Join(examples, "auditstore.yaml"), s3HeadOverlay(t)}
	c := harness.StartCollector(t, env, configs...)
	time.Sleep(1500 * time.Millisecond) // a digest opens before the range
	from := time.Now().UTC().Truncate(time.Millisecond)
	for i := range 10 {
		line := fmt.Sprintf(`{"policy_id":"p","decision":"deny","request_id":"s3ev-%d","created_at":%q}`+"\n", i, time.Now().UTC().Format(time.RFC3339Nano))
		status, body, err := harness.Post(c.URL, harness.ReceiverToken, []byte(line))
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, status, body)
	}
	time.Sleep(time.Second)
	to := time.Now().UTC().Truncate(time.Millisecond)
	time.Sleep(3 * time.Second) // the records' objects, and digests past the range's end
	c.Stop(t)                   // the store signs its head as it stops

	cli := func(args ...string) (int, string) {
		cmd := exec.Command("go", append([]string{"run", "../../cmd/policyaudit", "evidence"}, args...)...)
		cmd.Env = c.Env()
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), string(out)
		}
		require.NoError(t, err, string(out))
		return 0, string(out)
	}
	bundle := filepath.Join(t.TempDir(), "bundle.tar.gz")
	export := []string{"export", "--from", from.Format(time.RFC3339Nano), "--to", to.Format(time.RFC3339Nano), "--out", bundle}
	for _, cfg := range configs {
		export = append(export, "--config", cfg)
	}
	code, out := cli(export...)
	require.Equal(t, 0, code, out)
	assert.Contains(t, out, "10 records (10 decisions, 0 admin events)")
	code, out = cli("verify", bundle, "--public-key", key.PublicKeyFile)
	require.Equal(t, 0, code, out)

	f, err := os.Open(bundle)
	require.NoError(t, err)
	defer f.Close()
	files, err := evidence.ReadBundle(f)
	require.NoError(t, err)
	report := string(files[evidence.FileReport])
	assert.Contains(t, report, "## The S3 trail")
	assert.Contains(t, report, "| policy-audit | policy-audit/_digest |")
	carried := 0
	for _, line := range strings.Split(strings.TrimSpace(string(files[evidence.FileDigests])), "\n") {
		if strings.Contains(line, `"audit_store_head"`) {
			carried++
		}
	}
	assert.Positive(t, carried, "the digests over the range carry the store's heads")

	// A digest in the middle of the range deleted from the bucket: the
	// next one names it, and the export stops.
	var d struct {
		Key string `json:"key"`
	}
	ls := strings.Split(strings.TrimSpace(string(files[evidence.FileDigests])), "\n")
	require.Greater(t, len(ls), 2)
	require.NoError(t, json.Unmarshal([]byte(ls[1]), &d))
	_, err = s3peer.AWS(t, "s3api", "delete-object", "--bucket", "policy-audit", "--key", d.Key)
	require.NoError(t, err)
	code, out = cli(export...)
	assert.NotEqual(t, 0, code, out)
	assert.Contains(t, out, "digest "+d.Key+", named by")
	assert.Contains(t, out, "is missing")
}

// postgres.yaml with an evidence target: each sidecar of a fleet writes the
// bundles of its own chain, under chain=<name>/, signed with its own key;
// each verifies with that key alone, and together they hold every record
// posted to either.
func TestEachSidecarOfAFleetBundlesItsOwnChain(t *testing.T) {
	pg := pgpeer.Start(t)
	dsn := pg.CreateDatabase(t, "evidence")
	s3 := harness.StartS3(t)
	_, err := s3.AWS(t, "s3api", "create-bucket", "--bucket", "evidence")
	require.NoError(t, err)
	examples := filepath.Join(harness.Root, "config", "examples")
	keys := map[string]*harness.SigningKey{}
	var sidecars []*harness.Collector
	for _, chain := range []string{"sidecar-0", "sidecar-1"} {
		keys[chain] = harness.NewSigningKey(t)
		sidecars = append(sidecars, harness.StartCollector(t, append([]string{"POLICYAUDIT_RECEIVER_TOKEN=" + harness.ReceiverToken, keys[chain].Env(),
			"POLICYAUDIT_POSTGRES_DSN=" + dsn, "POLICYAUDIT_CHAIN=" + chain, "POLICYAUDIT_S3_ENDPOINT=" + s3.Endpoint,
			"POLICYAUDIT_EVIDENCE_TARGET=s3://evidence/bundles", "POLICYAUDIT_EVIDENCE_PERIOD=2s", "POLICYAUDIT_EVIDENCE_DELAY=3s"}, s3.Env...),
			filepath.Join(examples, "common.yaml"), filepath.Join(examples, "postgres.yaml")))
	}
	const n = 4
	for i := range n {
		for j, c := range sidecars {
			line := fmt.Sprintf(`{"policy_id":"p","decision":"deny","request_id":"fleet-%d-%d","created_at":%q}`+"\n", j, i, time.Now().UTC().Format(time.RFC3339Nano))
			status, body, err := harness.Post(c.URL, harness.ReceiverToken, []byte(line))
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, status, body)
		}
		time.Sleep(700 * time.Millisecond)
	}
	records := map[string]int{}
	require.Eventually(t, func() bool {
		out, err := s3.AWS(t, "s3api", "list-objects-v2", "--bucket", "evidence", "--prefix", "bundles/", "--query", "Contents[].Key", "--output", "json")
		if err != nil {
			return false
		}
		var objects []string
		_ = json.Unmarshal(out, &objects)
		records = map[string]int{}
		for _, k := range objects {
			chain := strings.TrimPrefix(strings.Split(k, "/")[1], "chain=")
			require.Contains(t, keys, chain, "%s is under no chain of the fleet", k)
			body, err := s3.AWS(t, "s3", "cp", "s3://evidence/"+k, "-")
			require.NoError(t, err)
			res, err := evidence.Verify(bytes.NewReader(body), auditstore.NewKeyring(keys[chain].Signer.PublicKey()))
			require.NoError(t, err, k)
			require.True(t, res.OK, "%s under its own key alone: %v", k, res.Problems)
			for _, run := range res.Manifest.Chains {
				require.Equal(t, chain, run.Chain, "%s carries another chain", k)
			}
			records[chain] += res.Records
		}
		return records["sidecar-0"] >= n && records["sidecar-1"] >= n
	}, 40*time.Second, time.Second, "the fleet's bundles do not hold the records: %v\n%s", records, sidecars[0].Log)
	assert.Equal(t, map[string]int{"sidecar-0": n, "sidecar-1": n}, records, "each record in exactly one bundle of its own chain")
}
