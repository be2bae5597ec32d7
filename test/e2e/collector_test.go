// Package e2e runs the built distribution as a user does, on the embedded
// default config, and checks what it writes.
package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const repoRoot = "../.."

var collectorBin string

func TestMain(m *testing.M) {
	collectorBin = os.Getenv("POLICYAUDIT_BIN")
	if collectorBin == "" {
		// Not run through `make test`: build the distribution once.
		dir, err := os.MkdirTemp("", "policyaudit-e2e")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		collectorBin = filepath.Join(dir, "otelcol-policyaudit")
		build := exec.Command("go", "build", "-o", collectorBin, ".")
		build.Dir = filepath.Join(repoRoot, "cmd", "otelcol-policyaudit")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "building the distribution:", err)
			os.Exit(1)
		}
		defer os.RemoveAll(dir)
	}
	os.Exit(m.Run())
}

// collector is the distribution running on config/default.yaml.
type collector struct {
	url     string // the policygateway receiver
	query   string // the audit store's query API
	dataDir string
	cmd     *exec.Cmd
	log     *bytes.Buffer
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startCollector starts the distribution on the default config, moved to
// free ports and a temporary data directory, and waits until it is healthy.
func startCollector(t *testing.T) *collector {
	t.Helper()
	return startCollectorWith(t, nil, filepath.Join(repoRoot, "config", "default.yaml"))
}

// startCollectorWith starts the distribution on configs (merged in order),
// with env added to the environment.
func startCollectorWith(t *testing.T, env []string, configs ...string) *collector {
	t.Helper()
	c := &collector{dataDir: t.TempDir(), log: new(bytes.Buffer)}
	port, health, metrics, query := freePort(t), freePort(t), freePort(t), freePort(t)
	c.url = "http://127.0.0.1:" + strconv.Itoa(port)
	c.query = "http://127.0.0.1:" + strconv.Itoa(query)
	var args []string
	for _, cfg := range configs {
		args = append(args, "--config", cfg)
	}
	c.cmd = exec.Command(collectorBin, args...)
	c.cmd.Env = append(append(os.Environ(), env...),
		"POLICYAUDIT_ENDPOINT=127.0.0.1:"+strconv.Itoa(port),
		"POLICYAUDIT_HEALTH_ENDPOINT=127.0.0.1:"+strconv.Itoa(health),
		"POLICYAUDIT_METRICS_PORT="+strconv.Itoa(metrics),
		"POLICYAUDIT_DATA_DIR="+c.dataDir,
		"POLICYAUDIT_QUERY_ENDPOINT=127.0.0.1:"+strconv.Itoa(query),
		"POLICYAUDIT_STORAGE_DIR="+filepath.Join(c.dataDir, "queue"),
	)
	c.cmd.Stdout, c.cmd.Stderr = c.log, c.log
	require.NoError(t, c.cmd.Start())
	t.Cleanup(func() { c.stop(t) })

	healthURL := "http://127.0.0.1:" + strconv.Itoa(health) + "/"
	require.Eventually(t, func() bool {
		resp, err := http.Get(healthURL)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 60*time.Second, 100*time.Millisecond, "the collector did not become healthy:\n%s", c.log)
	return c
}

func (c *collector) stop(t *testing.T) {
	if c.cmd.ProcessState != nil {
		return
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- c.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("the collector exited with %v:\n%s", err, c.log)
		}
	case <-time.After(30 * time.Second):
		_ = c.cmd.Process.Kill()
		t.Errorf("the collector did not stop within 30s of SIGTERM:\n%s", c.log)
	}
}

// exported reads every JSON line under export/, by date partition directory.
func (c *collector) exported(t *testing.T) map[string][]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(c.dataDir, "export", "*", "*.jsonl"))
	require.NoError(t, err)
	out := map[string][]string{}
	for _, f := range files {
		fh, err := os.Open(f)
		require.NoError(t, err)
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			if line := strings.TrimSpace(sc.Text()); line != "" {
				partition := filepath.Base(filepath.Dir(f))
				out[partition] = append(out[partition], line)
			}
		}
		fh.Close()
	}
	for _, lines := range out {
		sort.Strings(lines)
	}
	return out
}

func (c *collector) waitForLines(t *testing.T, n int) map[string][]string {
	t.Helper()
	var got map[string][]string
	require.Eventually(t, func() bool {
		got = c.exported(t)
		total := 0
		for _, lines := range got {
			total += len(lines)
		}
		return total >= n
	}, 30*time.Second, 200*time.Millisecond, "fewer than %d lines were written:\n%s", n, c.log)
	return got
}

// postFixtures sends every fixture to its endpoint with a bearer token and
// requires each to be accepted.
func postFixtures(t *testing.T, url, token string) {
	t.Helper()
	for _, p := range []struct{ path, contentType, fixture string }{
		{"/v1/decisions", "application/x-ndjson", "gateway-flat.ndjson"},
		{"/v1/decisions", "application/json", "router-verdicts.json"},
		{"/v1/audit", "application/x-ndjson", "admin-audit.ndjson"},
		{"/v1/opa/logs", "application/json", "opa-decision-logs.json"},
	} {
		body, err := os.ReadFile(filepath.Join(repoRoot, "testdata", "fixtures", p.fixture))
		require.NoError(t, err)
		req, _ := http.NewRequest(http.MethodPost, url+p.path, bytes.NewReader(body))
		req.Header.Set("Content-Type", p.contentType)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, p.fixture)
	}
}

// allFixtureRecords are the canonical records of every fixture postFixtures sends.
var allFixtureRecords = []string{"gateway-flat.jsonl", "router-verdicts.jsonl", "admin-audit.jsonl", "opa-decision-logs.jsonl"}
