// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"github.com/policyaudit/policyaudit/test/harness"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func postFile(t *testing.T, url, contentType string, gz bool, name string) (int, map[string]any) {
	t.Helper()
	body, err := os.ReadFile(filepath.Join(harness.Root, "testdata", "fixtures", name))
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", contentType)
	if gz {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		_, _ = zw.Write(body)
		require.NoError(t, zw.Close())
		req.Body = io.NopCloser(&buf)
		req.ContentLength = int64(buf.Len())
		req.Header.Set("Content-Encoding", "gzip")
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var answer map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&answer))
	return resp.StatusCode, answer
}

// Every fixture, through the three endpoints of the running distribution,
// comes out as the canonical records, each in its own date's partition.
func TestEmbeddedDefaultWritesCanonicalRecordsByDate(t *testing.T) {
	c := harness.StartDefault(t)

	for _, p := range []struct {
		path, contentType string
		gzip              bool
		fixture           string
		accepted          float64
	}{
		{"/v1/decisions", "application/x-ndjson", false, "gateway-flat.ndjson", 5},
		{"/v1/decisions", "application/json", true, "router-verdicts.json", 4},
		{"/v1/audit", "application/x-ndjson", false, "admin-audit.ndjson", 3},
		{"/v1/opa/logs", "application/json", true, "opa-decision-logs.json", 2},
	} {
		status, answer := postFile(t, c.URL+p.path, p.contentType, p.gzip, p.fixture)
		require.Equal(t, http.StatusOK, status, "%s: %v", p.fixture, answer)
		assert.Equal(t, p.accepted, answer["accepted"], p.fixture)
	}
	status, answer := postFile(t, c.URL+"/v1/decisions", "application/x-ndjson", false, "bad/unknown-verdict.ndjson")
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Equal(t, `line 1: decision: unknown verdict "obliterate" in "decision"`, answer["error"])

	want := harness.Expected(t, "gateway-flat.jsonl", "router-verdicts.jsonl", "admin-audit.jsonl", "opa-decision-logs.jsonl")
	got := c.WaitForLines(t, len(want))

	var all []string
	for partition, lines := range got {
		for _, line := range lines {
			var rec map[string]any
			require.NoError(t, json.Unmarshal([]byte(line), &rec), line)
			createdAt := rec["created_at"].(string)
			assert.Equal(t, "date="+createdAt[:10], partition, "the record's own UTC date is its partition: %s", line)
			all = append(all, line)
		}
	}
	sort.Strings(all)
	sort.Strings(want)
	assert.Equal(t, want, all, "exactly the canonical records, each once")

	// The pair either side of midnight lands in two partitions.
	assert.Contains(t, strings.Join(got["date=2026-01-16"], "\n"), `"created_at":"2026-01-16T23:59:59.900Z"`)
	assert.Contains(t, strings.Join(got["date=2026-01-17"], "\n"), `"created_at":"2026-01-17T00:00:00.100Z"`)
}

// The seed sample line of records.md comes out as exactly the record the
// contract describes.
func TestSeedSampleLine(t *testing.T) {
	c := harness.StartDefault(t)
	seed := `{"policy_id":"support-guardrails","decision":"rewrite","effective_decision":"rewrite","reason_code":"REWRITE","policy_user":"user-12345","project_id":"support-bot","policy_target":"support-bot","rollout_mode":"enforced","enforced":true,"triggered_categories":["self-harm/intent"],"allowlist_hits":["refund policy"],"denylist_hits":[],"model":"abliterated-model","created_at":"2026-01-16T18:22:11Z"}`
	resp, err := http.Post(c.URL+"/v1/decisions", "application/json", strings.NewReader(seed))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	got := c.WaitForLines(t, 1)["date=2026-01-16"]
	require.Len(t, got, 1)
	var rec map[string]any
	require.NoError(t, json.Unmarshal([]byte(got[0]), &rec))
	assert.Equal(t, "modify", rec["decision"])
	assert.Equal(t, "rewrite", rec["decision_raw"])
	assert.Equal(t, "modify", rec["effective_decision"])
	assert.Equal(t, "unknown", rec["policy_version"])
	assert.Equal(t, true, rec["correlation_generated"])
	assert.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, rec["event_id"])
	assert.Equal(t, harness.Expected(t, "gateway-flat.jsonl")[0], got[0], "deterministic: the same event_id and correlation_id as every other run")
}

func TestComponentsListsTheDistribution(t *testing.T) {
	out, err := exec.Command(harness.Bin(t), "components").CombinedOutput()
	require.NoError(t, err, string(out))
	for _, name := range []string{
		"policygateway", "otlp", "filelog",
		"policydecision", "memory_limiter", "batch",
		"auditstore", "durable", "s3audit", "azure_logs_ingestion", "awss3", "splunk_hec", "elasticsearch", "datadog", "datadog_logs", "kafka", "otlphttp", "file", "debug",
		"jsonl_encoding", "queue_storage", "file_storage", "health_check", "bearertokenauth", "pprof",
	} {
		assert.Contains(t, string(out), "name: "+name, name)
	}
	for _, scheme := range []string{"env", "file", "yaml"} {
		assert.Contains(t, string(out), "scheme: "+scheme, scheme)
	}
}
