// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"bytes"
	"github.com/policyaudit/policyaudit/test/harness"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The S3 example, against a real S3 implementation: every record arrives as
// a JSON line in a gzip object under its own date's partition, read back
// with the AWS CLI.
func TestS3ExampleWritesDatePartitionedJSONLines(t *testing.T) {
	s3 := harness.StartS3(t)
	_, err := s3.AWS(t, "s3api", "create-bucket", "--bucket", "policy-audit")
	require.NoError(t, err)

	env := append([]string{
		"POLICYAUDIT_RECEIVER_TOKEN=receiver-token",
		"POLICYAUDIT_S3_BUCKET=policy-audit",
		"POLICYAUDIT_S3_ENDPOINT=" + s3.Endpoint,
		harness.NewSigningKey(t).Env(),
	}, s3.Env...)
	examples := filepath.Join(harness.Root, "config", "examples")
	c := harness.StartCollector(t, env, filepath.Join(examples, "common.yaml"), filepath.Join(examples, "s3.yaml"))

	// The sidecar config requires the bearer token.
	body, _ := os.ReadFile(filepath.Join(harness.Root, "testdata", "fixtures", "gateway-flat.ndjson"))
	resp, err := http.Post(c.URL+"/v1/decisions", "application/x-ndjson", bytes.NewReader(body))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	harness.PostFixtures(t, c.URL, "receiver-token")

	want := harness.Expected(t, harness.AllFixtureRecords...)
	download := t.TempDir()
	var got []string
	require.Eventually(t, func() bool {
		if _, err := s3.AWS(t, "s3", "cp", "--recursive", "--quiet", "s3://policy-audit/", download); err != nil {
			return false
		}
		got = harness.ReadObjects(t, download)
		return len(got) >= len(want)
	}, 60*time.Second, time.Second, "the records did not reach S3:\n%s", c.Log)

	sort.Strings(got)
	sort.Strings(want)
	assert.Equal(t, want, got, "every canonical record, once")

	// The seeds' Athena check, with a real SQL engine over the same objects:
	// the date partition is a column, and the filters find the record.
	glob := filepath.Join(download, "policy-audit", "*", "*.jsonl.gz")
	assert.JSONEq(t, `[{"date":"2026-03-02","correlation_id":"c0ffee00-0000-4000-8000-000000000001","policy_version":"2026-03-01.2","model":"gpt-4.1","api_key_id":"key_live_01"}]`,
		sqlQuery(t, glob, `SELECT CAST(date AS VARCHAR) AS date, correlation_id, policy_version, model, api_key_id FROM records
			WHERE policy_id = 'prompt-injection' AND decision = 'deny'`))
	assert.JSONEq(t, `[{"date":"2026-01-16","n":"3"},{"date":"2026-01-17","n":"2"},{"date":"2026-03-02","n":"9"}]`,
		sqlQuery(t, glob, `SELECT CAST(date AS VARCHAR) AS date, count(*) AS n FROM records GROUP BY ALL ORDER BY ALL`))
}

// sqlQuery runs SQL with DuckDB (test/e2e/duckdb, installed by make tools)
// over the view "records" of the JSON lines matching glob.
func sqlQuery(t *testing.T, glob, sql string) string {
	t.Helper()
	cmd := exec.Command("node", filepath.Join("duckdb", "query.mjs"), glob, sql)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "DuckDB (run `make tools` to install it): %s", &stderr)
	return string(out)
}
