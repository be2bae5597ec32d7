package e2e

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// versitygw is a real S3 implementation (make tools installs v1.8.0).
func versitygwBin(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("VERSITYGW_BIN"); p != "" {
		return p
	}
	p, err := exec.LookPath("versitygw")
	require.NoError(t, err, "versitygw is needed: run `make tools` or set VERSITYGW_BIN")
	return p
}

// s3Peer is versitygw on a posix directory, driven with the AWS CLI.
type s3Peer struct {
	endpoint string
	env      []string
}

func startS3(t *testing.T) *s3Peer {
	t.Helper()
	root := t.TempDir()
	port := freePort(t)
	p := &s3Peer{
		endpoint: "http://127.0.0.1:" + strconv.Itoa(port),
		env:      []string{"AWS_ACCESS_KEY_ID=AKIAPOLICYAUDITTEST", "AWS_SECRET_ACCESS_KEY=policyaudit-test-secret", "AWS_REGION=us-east-1", "AWS_DEFAULT_REGION=us-east-1"},
	}
	var log bytes.Buffer
	cmd := exec.Command(versitygwBin(t), "--port", "127.0.0.1:"+strconv.Itoa(port),
		"--access", "AKIAPOLICYAUDITTEST", "--secret", "policyaudit-test-secret", "posix", root)
	cmd.Stdout, cmd.Stderr = &log, &log
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	})
	require.Eventually(t, func() bool {
		_, err := p.aws(t, "s3api", "list-buckets")
		return err == nil
	}, 30*time.Second, 200*time.Millisecond, "versitygw did not start:\n%s", &log)
	return p
}

func (p *s3Peer) aws(t *testing.T, args ...string) ([]byte, error) {
	t.Helper()
	cmd := exec.Command("aws", append([]string{"--endpoint-url", p.endpoint}, args...)...)
	cmd.Env = append(os.Environ(), p.env...)
	return cmd.Output()
}

var objectKey = regexp.MustCompile(`^policy-audit/date=(\d{4}-\d{2}-\d{2})/part-logs_[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}\.jsonl\.gz$`)

// The S3 example, against a real S3 implementation: every record arrives as
// a JSON line in a gzip object under its own date's partition, read back
// with the AWS CLI.
func TestS3ExampleWritesDatePartitionedJSONLines(t *testing.T) {
	s3 := startS3(t)
	_, err := s3.aws(t, "s3api", "create-bucket", "--bucket", "policy-audit")
	require.NoError(t, err)

	env := append([]string{
		"POLICYAUDIT_RECEIVER_TOKEN=receiver-token",
		"POLICYAUDIT_S3_BUCKET=policy-audit",
		"POLICYAUDIT_S3_ENDPOINT=" + s3.endpoint,
	}, s3.env...)
	examples := filepath.Join(repoRoot, "config", "examples")
	c := startCollectorWith(t, env, filepath.Join(examples, "common.yaml"), filepath.Join(examples, "s3.yaml"))

	// The sidecar config requires the bearer token.
	body, _ := os.ReadFile(filepath.Join(repoRoot, "testdata", "fixtures", "gateway-flat.ndjson"))
	resp, err := http.Post(c.url+"/v1/decisions", "application/x-ndjson", bytes.NewReader(body))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	postFixtures(t, c.url, "receiver-token")

	want := expected(t, allFixtureRecords...)
	download := t.TempDir()
	var got []string
	require.Eventually(t, func() bool {
		if _, err := s3.aws(t, "s3", "cp", "--recursive", "--quiet", "s3://policy-audit/", download); err != nil {
			return false
		}
		got = readObjects(t, download)
		return len(got) >= len(want)
	}, 60*time.Second, time.Second, "the records did not reach S3:\n%s", c.log)

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

// readObjects checks each object's key and returns its JSON lines.
func readObjects(t *testing.T, dir string) []string {
	var lines []string
	_ = filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		key := filepath.ToSlash(strings.TrimPrefix(path, dir+string(filepath.Separator)))
		m := objectKey.FindStringSubmatch("policy-audit/" + strings.TrimPrefix(key, "policy-audit/"))
		require.NotNil(t, m, "object key %s", key)
		f, err := os.Open(path)
		require.NoError(t, err)
		defer f.Close()
		zr, err := gzip.NewReader(f)
		require.NoError(t, err, key)
		raw, err := io.ReadAll(zr)
		require.NoError(t, err, key)
		for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
			var rec map[string]any
			require.NoError(t, json.Unmarshal([]byte(line), &rec), line)
			assert.Equal(t, m[1], rec["created_at"].(string)[:10], "the object's partition is the record's own UTC date")
			lines = append(lines, line)
		}
		return nil
	})
	return lines
}
