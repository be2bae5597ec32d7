// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

// Package harness runs the built distribution and its test peers for the
// end-to-end and reliability tests: collectors on free ports and temporary
// directories, versitygw as S3, contrib's splunkhecreceiver as Splunk HEC,
// and the fixtures to post.
package harness // import "github.com/policyaudit/policyaudit/test/harness"
import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/policyaudit/policyaudit/internal/testfixtures"
	"github.com/policyaudit/policyaudit/test/freeport"
)

// Root is the repository's root directory.
var Root = testfixtures.Root

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// Bin is the distribution's binary: POLICYAUDIT_BIN (make test sets it), or
// built once from cmd/otelcol-policyaudit.
func Bin(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		if binPath = os.Getenv("POLICYAUDIT_BIN"); binPath != "" {
			return
		}
		dir, err := os.MkdirTemp("", "policyaudit-bin")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "otelcol-policyaudit")
		build := exec.Command("go", "build", "-o", binPath, ".")
		build.Dir = filepath.Join(Root, "cmd", "otelcol-policyaudit")
		out, err := build.CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("building the distribution: %v\n%s", err, out)
		}
	})
	require.NoError(t, binErr)
	return binPath
}

// Collector is a running distribution.
type Collector struct {
	URL     string // the policygateway receiver
	Query   string // the audit store's query API
	Metrics string // the collector's own metrics (Prometheus text)
	// DecisionMetrics is the decisionmetrics connector's Prometheus
	// endpoint (configs that have it).
	DecisionMetrics string
	DataDir         string
	Log             *syncBuffer
	Cmd             *exec.Cmd

	base    []string // the environment without the ports
	env     []string
	configs []string
	health  string
	limit   *MemoryLimit
	bin     string // another collector than the distribution (the stock one of make bench)
}

// FreePort is a TCP port free on 127.0.0.1 a moment ago (freeport.Get).
func FreePort(t testing.TB) int {
	t.Helper()
	port, err := freeport.Get()
	require.NoError(t, err)
	return port
}

// StartDefault starts the distribution on config/default.yaml.
func StartDefault(t testing.TB) *Collector {
	t.Helper()
	return StartCollector(t, nil, filepath.Join(Root, "config", "default.yaml"))
}

// StartCollector starts the distribution on configs (merged in order), with
// env added to the environment, on free ports and a temporary data
// directory (POLICYAUDIT_* variables), and waits until it is healthy.
func StartCollector(t testing.TB, env []string, configs ...string) *Collector {
	t.Helper()
	return StartCollectorWithin(t, nil, env, configs...)
}

// StartCollectorWithin is StartCollector inside limit (nil: none), as a
// container with a memory limit runs it.
func StartCollectorWithin(t testing.TB, limit *MemoryLimit, env []string, configs ...string) *Collector {
	t.Helper()
	return StartBinaryWithin(t, "", limit, env, configs...)
}

// StartBinaryWithin is StartCollectorWithin for another collector binary
// (bin; "" is the distribution), given the same environment variables.
func StartBinaryWithin(t testing.TB, bin string, limit *MemoryLimit, env []string, configs ...string) *Collector {
	t.Helper()
	c := &Collector{DataDir: t.TempDir(), configs: configs, limit: limit, bin: bin}
	c.base = append(os.Environ(), env...)
	c.choosePorts(t)
	for attempt := 1; !c.start(t, attempt < 3); attempt++ {
		c.choosePorts(t)
	}
	t.Cleanup(func() { c.Stop(t) })
	return c
}

// choosePorts gives the collector free ports for its receiver, health
// check, metrics, query API and decision metrics.
func (c *Collector) choosePorts(t testing.TB) {
	port, health, metrics, query, decisions := FreePort(t), FreePort(t), FreePort(t), FreePort(t), FreePort(t)
	c.URL = "http://127.0.0.1:" + strconv.Itoa(port)
	c.Query = "http://127.0.0.1:" + strconv.Itoa(query)
	c.health = "http://127.0.0.1:" + strconv.Itoa(health) + "/"
	c.Metrics = "http://127.0.0.1:" + strconv.Itoa(metrics) + "/metrics"
	c.DecisionMetrics = "http://127.0.0.1:" + strconv.Itoa(decisions) + "/metrics"
	c.env = append(slices.Clip(c.base),
		"POLICYAUDIT_ENDPOINT=127.0.0.1:"+strconv.Itoa(port),
		"POLICYAUDIT_HEALTH_ENDPOINT=127.0.0.1:"+strconv.Itoa(health),
		"POLICYAUDIT_METRICS_PORT="+strconv.Itoa(metrics),
		"POLICYAUDIT_DATA_DIR="+c.DataDir,
		"POLICYAUDIT_QUERY_ENDPOINT=127.0.0.1:"+strconv.Itoa(query),
		"POLICYAUDIT_DECISION_METRICS_ENDPOINT=127.0.0.1:"+strconv.Itoa(decisions),
		"POLICYAUDIT_STORAGE_DIR="+filepath.Join(c.DataDir, "queue"),
	)
}

// start runs the process and waits for its health check. When the
// collector exits because another process took one of its ports and retry
// is set, start returns false for the caller to choose other ports.
func (c *Collector) start(t testing.TB, retry bool) bool {
	t.Helper()
	bin := c.bin
	if bin == "" {
		bin = Bin(t)
	}
	argv := []string{bin}
	for _, cfg := range c.configs {
		argv = append(argv, "--config", cfg)
	}
	if c.limit != nil {
		argv = c.limit.Command(argv)
	}
	if c.Log == nil || retry {
		c.Log = new(syncBuffer)
	}
	c.Cmd = exec.Command(argv[0], argv[1:]...)
	c.Cmd.Env = c.env
	c.Cmd.Stdout, c.Cmd.Stderr = c.Log, c.Log
	require.NoError(t, c.Cmd.Start())
	portTaken := false
	require.Eventually(t, func() bool {
		if retry && strings.Contains(c.Log.String(), "address already in use") {
			portTaken = true
			return true
		}
		resp, err := healthClient.Get(c.health)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 60*time.Second, 100*time.Millisecond, "the collector did not become healthy:\n%s", c.Log)
	if portTaken {
		t.Logf("a port of the collector was taken by another process; starting on other ports")
		_ = c.Cmd.Process.Kill()
		_ = c.Cmd.Wait()
	}
	return !portTaken
}

// Env is the collector's environment: what a CLI given its config files
// needs to resolve them as it does.
func (c *Collector) Env() []string { return slices.Clone(c.env) }

// healthClient gives up on a health check that does not answer: the port
// may belong to another process that accepts and never replies.
var healthClient = &http.Client{Timeout: 2 * time.Second}

// Restart starts the collector again on the same ports, data and queues
// after Stop or Kill.
func (c *Collector) Restart(t testing.TB) {
	t.Helper()
	c.start(t, false)
}

// Kill ends the collector with SIGKILL: no shutdown, no flush.
func (c *Collector) Kill(t testing.TB) {
	t.Helper()
	require.NoError(t, c.Cmd.Process.Kill())
	_ = c.Cmd.Wait()
}

// Stop ends the collector with SIGTERM and requires a clean exit within 30 s.
func (c *Collector) Stop(t testing.TB) {
	if c.Cmd == nil || c.Cmd.ProcessState != nil {
		return
	}
	_ = c.Cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- c.Cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("the collector exited with %v:\n%s", err, c.Log)
		}
	case <-time.After(30 * time.Second):
		_ = c.Cmd.Process.Kill()
		t.Errorf("the collector did not stop within 30s of SIGTERM:\n%s", c.Log)
	}
}

// PeakRSSKiB is the process's peak resident set size so far (VmHWM).
func (c *Collector) PeakRSSKiB(t testing.TB) int {
	t.Helper()
	return peakRSSKiB(t, c.Cmd.Process.Pid)
}

// peakRSSKiB is a process's peak resident set size so far (VmHWM).
func peakRSSKiB(t testing.TB, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	require.NoError(t, err)
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kib, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			require.NoError(t, err)
			return kib
		}
	}
	t.Fatal("no VmHWM in /proc status")
	return 0
}

// Exported reads every JSON line under export/, by date partition directory.
func (c *Collector) Exported(t testing.TB) map[string][]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(c.DataDir, "export", "*", "*.jsonl"))
	require.NoError(t, err)
	out := map[string][]string{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		// Only whole lines: the exporter may be writing the last one (a
		// partial line read mid-write once passed for a record).
		if i := bytes.LastIndexByte(data, '\n'); i >= 0 {
			data = data[:i+1]
		} else {
			data = nil
		}
		for _, line := range strings.Split(string(data), "\n") {
			if line = strings.TrimSpace(line); line != "" {
				partition := filepath.Base(filepath.Dir(f))
				out[partition] = append(out[partition], line)
			}
		}
	}
	for _, lines := range out {
		sort.Strings(lines)
	}
	return out
}

// WaitForLines waits until the file export holds at least n lines.
func (c *Collector) WaitForLines(t testing.TB, n int) map[string][]string {
	t.Helper()
	var got map[string][]string
	require.Eventually(t, func() bool {
		got = c.Exported(t)
		total := 0
		for _, lines := range got {
			total += len(lines)
		}
		return total >= n
	}, 30*time.Second, 200*time.Millisecond, "fewer than %d lines were written:\n%s", n, c.Log)
	return got
}

// QueryRecords asks the audit store's query API, with a bearer token when
// token is not empty, and returns the records of the page.
func (c *Collector) QueryRecords(t testing.TB, token, pathAndQuery string) []map[string]any {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, c.Query+pathAndQuery, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, pathAndQuery)
	var page struct {
		Records []struct {
			Record map[string]any `json:"record"`
		} `json:"records"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&page))
	out := make([]map[string]any, len(page.Records))
	for i, r := range page.Records {
		out[i] = r.Record
	}
	return out
}

// ByCorrelation is every decision and admin event of a correlation ID in
// the audit store.
func (c *Collector) ByCorrelation(t testing.TB, token, cid string) []map[string]any {
	t.Helper()
	q := "?correlation_id=" + url.QueryEscape(cid)
	return append(c.QueryRecords(t, token, "/api/v1/decisions"+q), c.QueryRecords(t, token, "/admin/api/v1/audit"+q)...)
}

// syncBuffer is a bytes.Buffer the collector's output can be written to
// while a test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// StoredDecisions pages through every decision in the audit store.
func (c *Collector) StoredDecisions(t testing.TB, token string) []map[string]any {
	t.Helper()
	var all []map[string]any
	cursor := ""
	for {
		req, err := http.NewRequest(http.MethodGet, c.Query+"/api/v1/decisions?limit=1000&cursor="+url.QueryEscape(cursor), nil)
		require.NoError(t, err)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		var page struct {
			Records []struct {
				Record map[string]any `json:"record"`
			} `json:"records"`
			NextCursor string `json:"next_cursor"`
		}
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&page))
		resp.Body.Close()
		for _, r := range page.Records {
			all = append(all, r.Record)
		}
		if page.NextCursor == "" {
			return all
		}
		cursor = page.NextCursor
	}
}

// SentLogRecords reads otelcol_exporter_sent_log_records by exporter from
// the collector's own metrics (empty when they cannot be read).
func (c *Collector) SentLogRecords() map[string]int {
	out := map[string]int{}
	resp, err := http.Get(c.Metrics)
	if err != nil {
		return out
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "otelcol_exporter_sent_log_records") {
			continue
		}
		_, labels, _ := strings.Cut(line, `exporter="`)
		name, _, _ := strings.Cut(labels, `"`)
		if f, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64); err == nil {
			out[name] += int(f)
		}
	}
	return out
}

// WaitForStored waits until the audit store's chain holds at least n
// records (its verification's count), reading with token.
func WaitForStored(t testing.TB, c *Collector, token string, n int) {
	t.Helper()
	var got float64
	require.Eventually(t, func() bool {
		req, err := http.NewRequest(http.MethodGet, c.Query+"/api/v1/verify", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var rep struct {
			Records float64 `json:"records"`
		}
		if json.NewDecoder(resp.Body).Decode(&rep) != nil {
			return false
		}
		got = rep.Records
		return got >= float64(n)
	}, 120*time.Second, 500*time.Millisecond, "the audit store holds %v of %d records:\n%s", &got, n, c.Log)
}
