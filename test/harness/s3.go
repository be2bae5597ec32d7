// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package harness

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// versitygwBin is a real S3 implementation (make tools installs v1.8.0).
func versitygwBin(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("VERSITYGW_BIN"); p != "" {
		return p
	}
	if p := filepath.Join(Root, "bin", "versitygw"); fileExists(p) {
		return p // make tools installs it there
	}
	p, err := exec.LookPath("versitygw")
	require.NoError(t, err, "versitygw is needed: run `make tools` or set VERSITYGW_BIN")
	return p
}

// S3 is versitygw on a posix directory, driven with the AWS CLI.
type S3 struct {
	Endpoint string
	Env      []string // the AWS credentials and region of the peer

	root string
	port int
	cmd  *exec.Cmd
	log  bytes.Buffer
}

// StartS3 runs versitygw on 127.0.0.1 until the test ends.
func StartS3(t testing.TB) *S3 {
	t.Helper()
	p := &S3{root: t.TempDir(), port: FreePort(t)}
	p.Endpoint = "http://127.0.0.1:" + strconv.Itoa(p.port)
	p.Env = []string{"AWS_ACCESS_KEY_ID=AKIAPOLICYAUDITTEST", "AWS_SECRET_ACCESS_KEY=policyaudit-test-secret", "AWS_REGION=us-east-1", "AWS_DEFAULT_REGION=us-east-1"}
	p.Start(t)
	t.Cleanup(p.Stop)
	return p
}

// Start runs the server (again, after Stop) on the same port and directory.
func (p *S3) Start(t testing.TB) {
	t.Helper()
	p.cmd = exec.Command(versitygwBin(t), "--port", "127.0.0.1:"+strconv.Itoa(p.port),
		"--access", "AKIAPOLICYAUDITTEST", "--secret", "policyaudit-test-secret", "posix", p.root)
	p.cmd.Stdout, p.cmd.Stderr = &p.log, &p.log
	require.NoError(t, p.cmd.Start())
	require.Eventually(t, func() bool {
		_, err := p.AWS(t, "s3api", "list-buckets")
		return err == nil
	}, 30*time.Second, 200*time.Millisecond, "versitygw did not start:\n%s", &p.log)
}

// Stop ends the server: the destination is down.
func (p *S3) Stop() {
	if p.cmd == nil || p.cmd.ProcessState != nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	_ = p.cmd.Wait()
}

// AWS runs the AWS CLI against the peer.
func (p *S3) AWS(t testing.TB, args ...string) ([]byte, error) {
	t.Helper()
	cmd := exec.Command("aws", append([]string{"--endpoint-url", p.Endpoint}, args...)...)
	cmd.Env = append(os.Environ(), p.Env...)
	return cmd.Output()
}

// Download copies the bucket into dir with the AWS CLI and returns every
// JSON line of its objects (see ReadObjects).
func (p *S3) Download(t testing.TB, bucket, dir string) ([]string, error) {
	t.Helper()
	if _, err := p.AWS(t, "s3", "cp", "--recursive", "--quiet", "s3://"+bucket+"/", dir); err != nil {
		return nil, err
	}
	return ReadObjects(t, dir), nil
}

// ObjectKey is the shape of the S3 example's object keys.
var ObjectKey = regexp.MustCompile(`^policy-audit/date=(\d{4}-\d{2}-\d{2})/part-logs_[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}\.jsonl\.gz$`)

// ReadObjects checks each downloaded object's key and that each record is
// in its own date's partition, and returns the JSON lines.
func ReadObjects(t testing.TB, dir string) []string {
	t.Helper()
	var lines []string
	_ = filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		key := filepath.ToSlash(strings.TrimPrefix(path, dir+string(filepath.Separator)))
		if strings.Contains(key, "/_digest/") {
			return nil // the signed digests beside the data
		}
		m := ObjectKey.FindStringSubmatch("policy-audit/" + strings.TrimPrefix(key, "policy-audit/"))
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

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
