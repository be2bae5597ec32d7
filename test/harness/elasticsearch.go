// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package harness

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// elasticsearchHome is the directory make tools lays out from Maven
// Central's jars (test/harness/elasticsearch/pom.xml): lib/ (the server's
// jars, the module path), modules/transport-netty4/, classes/ (EmbeddedNode)
// and JAVA_HOME, the JDK it was compiled with.
func elasticsearchHome(t testing.TB) string {
	t.Helper()
	p := os.Getenv("ELASTICSEARCH_HOME")
	if p == "" {
		p = filepath.Join(Root, "bin", "elasticsearch")
	}
	require.True(t, fileExists(filepath.Join(p, ".installed")), "Elasticsearch's jars are needed: run `make tools` or set ELASTICSEARCH_HOME")
	return p
}

// elasticsearchJava is the java of the JDK make tools compiled EmbeddedNode
// with (Elasticsearch 9 needs Java 21 or later; Java 17 is the machine's
// default).
func elasticsearchJava(t testing.TB, home string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(home, "JAVA_HOME"))
	require.NoError(t, err, "make tools writes bin/elasticsearch/JAVA_HOME")
	java := filepath.Join(strings.TrimSpace(string(raw)), "bin", "java")
	require.True(t, fileExists(java), "%s (from %s/JAVA_HOME) is gone: run `make tools` again", java, home)
	return java
}

// Elasticsearch is one real Elasticsearch node on 127.0.0.1 (a single-node
// cluster, its data in the test's temporary directory): the server and its
// HTTP transport only, no x-pack (no security, ILM or ingest pipelines), so
// any API key is accepted. Stop and Start make an outage; Kill a crash.
type Elasticsearch struct {
	URL string

	home, java string
	dir        string // config/, data/, logs/ and node.log
	httpPort   int
	tcpPort    int
	cmd        *exec.Cmd
	exited     chan struct{} // closed once cmd.Wait returned
	// StartTime is how long the last Start took until the node answered.
	StartTime time.Duration
}

// elasticsearchStopTimeout is how long a node has after SIGTERM before
// SIGKILL: closing flushes every shard, which takes seconds on a busy
// machine; a node that hangs must not hold the test up.
const elasticsearchStopTimeout = 20 * time.Second

// StartElasticsearch runs a node until the test ends and waits until it
// answers.
func StartElasticsearch(t testing.TB) *Elasticsearch {
	t.Helper()
	home := elasticsearchHome(t)
	e := &Elasticsearch{home: home, java: elasticsearchJava(t, home), dir: t.TempDir(), httpPort: FreePort(t), tcpPort: FreePort(t)}
	e.URL = "http://127.0.0.1:" + strconv.Itoa(e.httpPort)
	require.NoError(t, os.MkdirAll(filepath.Join(e.dir, "config"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(e.dir, "config", "log4j2.properties"), []byte(elasticsearchLog4j), 0o644))
	t.Cleanup(func() {
		if e.running() {
			t.Logf("elasticsearch: peak RSS %d MiB", e.PeakRSSKiB(t)/1024)
		}
		if killed := e.stop(); killed {
			t.Logf("elasticsearch: SIGKILL after %s of SIGTERM", elasticsearchStopTimeout)
		}
	})
	e.Start(t)
	return e
}

// elasticsearchLog4j sends the node's log to its stdout (node.log), without
// the deprecation warnings the exporter's requests would add per request.
const elasticsearchLog4j = `status = error
appender.console.type = Console
appender.console.name = console
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d{ISO8601}][%-5p][%c{1.}] %m%n
rootLogger.level = info
rootLogger.appenderRef.console.ref = console
logger.deprecation.name = org.elasticsearch.deprecation
logger.deprecation.level = error
`

// settings are the node's, as EmbeddedNode takes them (key=value).
func (e *Elasticsearch) settings() []string {
	return []string{
		"path.home=" + e.home,
		"path.conf=" + filepath.Join(e.dir, "config"),
		"path.data=" + filepath.Join(e.dir, "data"),
		"path.logs=" + filepath.Join(e.dir, "logs"),
		"cluster.name=policyaudit-test",
		"node.name=policyaudit-test",
		"discovery.type=single-node",
		"network.host=127.0.0.1",
		"http.port=" + strconv.Itoa(e.httpPort),
		"transport.port=" + strconv.Itoa(e.tcpPort),
		// The test machines' disks may be fuller than the 85/90/95 %
		// watermarks; past the last one Elasticsearch makes indices
		// read-only, which would fail a test for another reason.
		"cluster.routing.allocation.disk.threshold_enabled=false",
	}
}

// Start runs the node (again, after Stop or Kill) on its ports and data,
// and waits until the cluster answers with its health at least yellow.
func (e *Elasticsearch) Start(t testing.TB) {
	t.Helper()
	log, err := os.OpenFile(e.logFile(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	require.NoError(t, err)
	defer log.Close()
	args := []string{
		// A small heap: the tests' bulk requests are a few MB.
		"-Xms256m", "-Xmx256m", "-XX:+UseSerialGC",
		"-Djava.io.tmpdir=" + filepath.Join(e.dir, "tmp"),
		"-Djava.awt.headless=true", "-Dfile.encoding=UTF-8",
		"-Dlog4j2.disable.jmx=true", "-Dlog4j.shutdownHookEnabled=false",
		// Lucene and Elasticsearch's native access (memory mapping, vector
		// code) go through the FFM API, which Java 25 warns about unless
		// it is enabled for them.
		"--enable-native-access=ALL-UNNAMED,org.apache.lucene.core",
		"--module-path", filepath.Join(e.home, "lib"), "--add-modules", "ALL-MODULE-PATH",
		"-cp", filepath.Join(e.home, "classes"), "EmbeddedNode",
	}
	require.NoError(t, os.MkdirAll(filepath.Join(e.dir, "tmp"), 0o755))
	e.cmd = exec.Command(e.java, append(args, e.settings()...)...)
	e.cmd.Stdout, e.cmd.Stderr = log, log
	// The JVM goes with the test process, however it ends.
	e.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	begin := time.Now()
	require.NoError(t, e.cmd.Start())
	e.exited = make(chan struct{})
	go func(cmd *exec.Cmd, exited chan struct{}) {
		_ = cmd.Wait()
		close(exited)
	}(e.cmd, e.exited)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		status, body, err := e.request(http.MethodGet, "/_cluster/health?wait_for_status=yellow&timeout=1s", nil)
		if err == nil && status == http.StatusOK {
			break
		}
		select {
		case <-e.exited:
			t.Fatalf("elasticsearch exited (%s) while starting:\n%s", e.cmd.ProcessState, e.LogTail())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("elasticsearch did not answer within 2m: %v %d %s\n%s", err, status, body, e.LogTail())
		}
		time.Sleep(200 * time.Millisecond)
	}
	e.StartTime = time.Since(begin)
	t.Logf("elasticsearch: answering on %s after %s", e.URL, e.StartTime.Round(100*time.Millisecond))
}

// Stop ends the node with SIGTERM (a clean shutdown: the destination is
// down), with SIGKILL after elasticsearchStopTimeout.
func (e *Elasticsearch) Stop(t testing.TB) {
	t.Helper()
	if e.stop() {
		t.Logf("elasticsearch: SIGKILL after %s of SIGTERM", elasticsearchStopTimeout)
	}
}

// Kill ends the node with SIGKILL: no flush, no shutdown; what it
// acknowledged is in its translog.
func (e *Elasticsearch) Kill(t testing.TB) {
	t.Helper()
	if e.running() {
		require.NoError(t, e.cmd.Process.Kill())
		<-e.exited
	}
}

func (e *Elasticsearch) running() bool {
	if e.cmd == nil || e.cmd.Process == nil {
		return false
	}
	select {
	case <-e.exited:
		return false
	default:
		return true
	}
}

// stop is SIGTERM, then SIGKILL; it reports whether SIGKILL was needed.
func (e *Elasticsearch) stop() (killed bool) {
	if !e.running() {
		return false
	}
	_ = e.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-e.exited:
		return false
	case <-time.After(elasticsearchStopTimeout):
		_ = e.cmd.Process.Kill()
		<-e.exited
		return true
	}
}

// PeakRSSKiB is the node's peak resident set size so far.
func (e *Elasticsearch) PeakRSSKiB(t testing.TB) int {
	t.Helper()
	return peakRSSKiB(t, e.cmd.Process.Pid)
}

func (e *Elasticsearch) logFile() string { return filepath.Join(e.dir, "node.log") }

// LogTail is the end of the node's log, for a failure message.
func (e *Elasticsearch) LogTail() string {
	raw, _ := os.ReadFile(e.logFile())
	lines := strings.Split(strings.TrimRight(string(raw), "\n"), "\n")
	return "--- elasticsearch (" + e.logFile() + "), last lines:\n" + strings.Join(lines[max(0, len(lines)-60):], "\n")
}

// request sends one request with a JSON body (nil: none) and returns the
// status and the answer.
func (e *Elasticsearch) request(method, path string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		raw, ok := body.([]byte)
		if !ok {
			var err error
			if raw, err = json.Marshal(body); err != nil {
				return 0, nil, err
			}
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, e.URL+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	client := http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body)
	return resp.StatusCode, answer, err
}

// Do sends a request and requires a 2xx; it returns the answer.
func (e *Elasticsearch) Do(t testing.TB, method, path string, body any) []byte {
	t.Helper()
	status, answer, err := e.request(method, path, body)
	require.NoError(t, err, "%s %s", method, path)
	require.True(t, status/100 == 2, "%s %s: %d %s", method, path, status, answer)
	return answer
}

// IndexTemplate is deploy/elasticsearch/index-template.json, the template
// the records need.
func IndexTemplate(t testing.TB) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(Root, "deploy", "elasticsearch", "index-template.json"))
	require.NoError(t, err)
	return raw
}

// InstallTemplate puts deploy/elasticsearch's index template, as its
// README says to.
func (e *Elasticsearch) InstallTemplate(t testing.TB) {
	t.Helper()
	e.Do(t, http.MethodPut, "/_index_template/policyaudit", IndexTemplate(t))
}

// Rollover starts a new backing index for a data stream, as its lifecycle
// policy would; it returns the new one's name.
func (e *Elasticsearch) Rollover(t testing.TB, stream string) string {
	t.Helper()
	var res struct {
		NewIndex string `json:"new_index"`
	}
	require.NoError(t, json.Unmarshal(e.Do(t, http.MethodPost, "/"+stream+"/_rollover", nil), &res))
	return res.NewIndex
}

// ESDoc is one stored document: the index (a data stream's backing index)
// holding it, its _id and its source.
type ESDoc struct {
	Index  string         `json:"_index"`
	ID     string         `json:"_id"`
	Source map[string]any `json:"_source"`
}

// Docs refreshes the indices a pattern names and returns every document in
// them (a scroll: there may be more than one search returns); none when no
// index matches yet.
func (e *Elasticsearch) Docs(t testing.TB, pattern string) []ESDoc {
	t.Helper()
	docs, err := e.docs(pattern)
	require.NoError(t, err)
	return docs
}

// DocsOrNil is Docs that returns nil when the node does not answer (while
// it is down in an outage test).
func (e *Elasticsearch) DocsOrNil(pattern string) []ESDoc {
	docs, _ := e.docs(pattern)
	return docs
}

type scrollPage struct {
	ScrollID string `json:"_scroll_id"`
	Hits     struct {
		Hits []ESDoc `json:"hits"`
	} `json:"hits"`
}

func (e *Elasticsearch) docs(pattern string) ([]ESDoc, error) {
	// A name not created yet is no document, not an error.
	const lenient = "ignore_unavailable=true&allow_no_indices=true"
	if status, body, err := e.request(http.MethodPost, "/"+pattern+"/_refresh?"+lenient, nil); err != nil || status != http.StatusOK {
		return nil, fmt.Errorf("refresh %s: %v %d %s", pattern, err, status, body)
	}
	var out []ESDoc
	status, body, err := e.request(http.MethodPost, "/"+pattern+"/_search?scroll=1m&"+lenient, map[string]any{"size": 10000, "sort": []string{"_doc"}})
	for {
		if err != nil || status != http.StatusOK {
			return nil, fmt.Errorf("search %s: %v %d %.2000s", pattern, err, status, body)
		}
		var page scrollPage
		if err := json.Unmarshal(body, &page); err != nil {
			return nil, err
		}
		out = append(out, page.Hits.Hits...)
		if len(page.Hits.Hits) == 0 || page.ScrollID == "" {
			if page.ScrollID != "" {
				_, _, _ = e.request(http.MethodDelete, "/_search/scroll", map[string]any{"scroll_id": page.ScrollID})
			}
			return out, nil
		}
		status, body, err = e.request(http.MethodPost, "/_search/scroll", map[string]any{"scroll": "1m", "scroll_id": page.ScrollID})
	}
}

// Mapping is the field mapping of the indices a pattern names, by index.
func (e *Elasticsearch) Mapping(t testing.TB, pattern string) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(e.Do(t, http.MethodGet, "/"+pattern+"/_mapping", nil), &m))
	return m
}

// ESRefused counts the documents Elasticsearch refused with errType (a
// duplicate _id is version_conflict_engine_exception, a value that does not
// fit the mapping document_parsing_exception), from the elasticsearch
// exporter's own metric (otelcol_elasticsearch_docs_processed by
// error_type): the node keeps no count of them, and the exporter's "failed
// to index document" log is sampled (zap's: 10 a second, then 1 in 100).
func (c *Collector) ESRefused(errType string) int {
	resp, err := http.Get(c.Metrics)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	n := 0
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, "otelcol_elasticsearch_docs_processed") && strings.Contains(line, `error_type="`+errType+`"`) {
			if f, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64); err == nil {
				n += int(f)
			}
		}
	}
	return n
}
