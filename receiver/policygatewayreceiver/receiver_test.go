// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package policygatewayreceiver

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/policyaudit/policyaudit/internal/pdatajson"
	"github.com/policyaudit/policyaudit/internal/record"
	"github.com/policyaudit/policyaudit/receiver/policygatewayreceiver/internal/metadata"
)

const fixtureDir = "../../testdata/fixtures"

func startReceiver(t *testing.T, cfg *Config, next consumer.Logs) string {
	t.Helper()
	if cfg == nil {
		cfg = createDefaultConfig()
	}
	cfg.Endpoint = "127.0.0.1:0"
	r, err := newReceiver(receivertest.NewNopSettings(metadata.Type), cfg, next)
	require.NoError(t, err)
	require.NoError(t, r.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, r.Shutdown(context.Background())) })
	return "http://" + r.addr
}

type answer struct {
	status int
	header http.Header
	body   map[string]any
}

func post(t *testing.T, url, contentType, encoding string, body []byte) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	require.NoError(t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if encoding != "" {
		req.Header.Set("Content-Encoding", encoding)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	a := answer{status: resp.StatusCode, header: resp.Header}
	require.NoError(t, json.Unmarshal(raw, &a.body), "every answer is JSON: %s", raw)
	return a
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir, name))
	require.NoError(t, err)
	return b
}

func gzipped(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, err := zw.Write(b)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

func zstded(t *testing.T, b []byte) []byte {
	zw, err := zstd.NewWriter(nil)
	require.NoError(t, err)
	defer zw.Close()
	return zw.EncodeAll(b, nil)
}

// sinkLines are the received records as JSON lines, named as the
// policydecision processor without an id_key names them (the receiver leaves
// derived identifiers to it), to compare with testdata/expected.
func sinkLines(t *testing.T, sink *consumertest.LogsSink) []string {
	var out []string
	namer := record.NewNamer(nil)
	for _, ld := range sink.AllLogs() {
		lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
		for i := 0; i < lrs.Len(); i++ {
			body := lrs.At(i).Body().Map()
			rec, err := record.ReadHeader(body)
			require.NoError(t, err)
			namer.Name(rec, body)
			out = append(out, string(pdatajson.AppendValue(nil, lrs.At(i).Body())))
		}
	}
	return out
}

func expectedLines(t *testing.T, name string) []string {
	b, err := os.ReadFile(filepath.Join("../../testdata/expected", strings.TrimSuffix(name, filepath.Ext(name))+".jsonl"))
	require.NoError(t, err)
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

func TestEveryFixtureThroughItsEndpoint(t *testing.T) {
	for _, tc := range []struct {
		fixture, path, contentType, encoding string
	}{
		{"gateway-flat.ndjson", pathDecisions, "application/x-ndjson", ""},
		{"gateway-flat.ndjson", pathDecisions, "application/json", "zstd"},
		{"router-verdicts.json", pathDecisions, "application/json", "gzip"},
		{"admin-audit.ndjson", pathAudit, "application/x-ndjson", "gzip"},
		{"opa-decision-logs.json", pathOPALogs, "application/json", "gzip"},
	} {
		t.Run(tc.fixture+" "+tc.encoding, func(t *testing.T) {
			sink := new(consumertest.LogsSink)
			url := startReceiver(t, nil, sink)
			body := fixture(t, tc.fixture)
			switch tc.encoding {
			case "gzip":
				body = gzipped(t, body)
			case "zstd":
				body = zstded(t, body)
			}
			a := post(t, url+tc.path, tc.contentType, tc.encoding, body)
			want := expectedLines(t, tc.fixture)
			require.Equal(t, http.StatusOK, a.status, a.body)
			assert.Equal(t, map[string]any{"accepted": float64(len(want))}, a.body)
			assert.Equal(t, want, sinkLines(t, sink))

			lr := sink.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
			assert.NotZero(t, lr.ObservedTimestamp())
			assert.NotZero(t, lr.Timestamp())
			assert.Contains(t, []string{"policy.decision", "admin.audit"}, lr.EventName())
		})
	}
}

func TestSingleObject(t *testing.T) {
	sink := new(consumertest.LogsSink)
	url := startReceiver(t, nil, sink)
	seed := strings.SplitN(string(fixture(t, "gateway-flat.ndjson")), "\n", 2)[0]
	a := post(t, url+pathDecisions, "", "", []byte("{\n  "+strings.TrimPrefix(seed, "{")))
	require.Equal(t, http.StatusOK, a.status, a.body)
	assert.Equal(t, expectedLines(t, "gateway-flat.ndjson")[:1], sinkLines(t, sink), "a pretty-printed single object is one record")
}

func TestBadFixturesAreRefusedWhole(t *testing.T) {
	for _, tc := range []struct {
		name, path string
		status     int
		where      string
		field      string
		contains   string
	}{
		{"bad-action.ndjson", pathAudit, 400, "line 1", "action", "is not of the form <resource>.<verb>"},
		{"bad-time.ndjson", pathDecisions, 400, "line 1", "created_at", "not an RFC 3339 time"},
		{"deep-nesting.json", pathDecisions, 400, "line 1", "", "nesting deeper than 32 levels"},
		{"missing-policy.ndjson", pathDecisions, 400, "line 1", "policy_id", "missing"},
		{"not-utf8.ndjson", pathDecisions, 400, "line 1", "", "not valid UTF-8"},
		{"truncated-line.ndjson", pathDecisions, 400, "line 2", "", "malformed JSON"},
		{"unknown-verdict.ndjson", pathDecisions, 400, "line 1", "decision", `unknown verdict "obliterate"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sink := new(consumertest.LogsSink)
			url := startReceiver(t, nil, sink)
			a := post(t, url+tc.path, "application/x-ndjson", "", fixture(t, "bad/"+tc.name))
			if tc.name == "deep-nesting.json" {
				a = post(t, url+tc.path, "application/json", "", fixture(t, "bad/"+tc.name))
			}
			assert.Equal(t, tc.status, a.status)
			msg, _ := a.body["error"].(string)
			assert.True(t, strings.HasPrefix(msg, tc.where+": "), msg)
			assert.Contains(t, msg, tc.contains)
			if tc.field != "" {
				assert.Equal(t, tc.field, a.body["field"])
			}
			assert.Equal(t, float64(0), a.body["accepted"])
			assert.Zero(t, sink.LogRecordCount(), "nothing from a refused request is accepted")
		})
	}
}

func TestArrayErrorsNameTheIndex(t *testing.T) {
	url := startReceiver(t, nil, new(consumertest.LogsSink))
	a := post(t, url+pathDecisions, "application/json", "", []byte(`[{"policy_id":"p","decision":"allow","ts":1},{"policy_id":"p","verdict":"maybe","ts":1}]`))
	assert.Equal(t, http.StatusBadRequest, a.status)
	assert.Equal(t, float64(1), a.body["index"])
	assert.Equal(t, "index 1: decision: unknown verdict \"maybe\" in \"verdict\"", a.body["error"])
}

func TestHTTPAnswers(t *testing.T) {
	cfg := createDefaultConfig()
	cfg.MaxRequestBodySize = 1024
	cfg.MaxRecordsPerRequest = 3
	url := startReceiver(t, cfg, new(consumertest.LogsSink))
	line := []byte(`{"policy_id":"p","decision":"allow","ts":1768608000}` + "\n")

	req, _ := http.NewRequest(http.MethodGet, url+pathDecisions, nil)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	assert.Equal(t, "POST", resp.Header.Get("Allow"))

	assert.Equal(t, http.StatusUnsupportedMediaType, post(t, url+pathDecisions, "application/x-www-form-urlencoded", "", line).status)
	assert.Equal(t, http.StatusRequestEntityTooLarge, post(t, url+pathDecisions, "application/x-ndjson", "", bytes.Repeat(line, 30)).status)
	tooMany := post(t, url+pathDecisions, "application/x-ndjson", "", bytes.Repeat(line, 4))
	assert.Equal(t, http.StatusRequestEntityTooLarge, tooMany.status)
	assert.Contains(t, tooMany.body["error"], "4 records in one request, more than the limit of 3")
	// The limit applies to the decompressed body: a small gzip bomb is refused.
	assert.Equal(t, http.StatusRequestEntityTooLarge, post(t, url+pathDecisions, "application/x-ndjson", "gzip", gzipped(t, bytes.Repeat([]byte(" "), 1<<20))).status)
	assert.Equal(t, http.StatusNotFound, post(t, url+"/v1/other", "application/json", "", line).status)
	assert.Equal(t, http.StatusOK, post(t, url+pathDecisions, "application/x-ndjson", "", bytes.Repeat(line, 3)).status)
}

func TestRefusingConsumerGets503WithRetryAfter(t *testing.T) {
	url := startReceiver(t, nil, consumertest.NewErr(errors.New("data refused due to high memory usage")))
	a := post(t, url+pathDecisions, "application/x-ndjson", "", fixture(t, "gateway-flat.ndjson"))
	assert.Equal(t, http.StatusServiceUnavailable, a.status)
	assert.Equal(t, "5", a.header.Get("Retry-After"))
	assert.Contains(t, a.body["error"], "high memory usage")
}

func TestShutdownWithoutStartAndTwice(t *testing.T) {
	r, err := newReceiver(receivertest.NewNopSettings(metadata.Type), createDefaultConfig(), consumertest.NewNop())
	require.NoError(t, err)
	require.NoError(t, r.Shutdown(context.Background()))
	require.NoError(t, r.Shutdown(context.Background()))
}

func TestValidate(t *testing.T) {
	cfg := createDefaultConfig()
	require.NoError(t, cfg.Validate())
	cfg.MaxRecordsPerRequest = 0
	cfg.MaxNestingDepth = 1
	cfg.RetryAfter = 0
	err := cfg.Validate()
	assert.ErrorContains(t, err, "max_records_per_request: must be positive")
	assert.ErrorContains(t, err, "max_nesting_depth: must be at least 2")
	assert.ErrorContains(t, err, "retry_after: must be at least 1s")
}

// LiteLLM's generic_api callback posts its three log formats, all labelled
// application/json: a JSON array, NDJSON and a single object. A call where
// no guardrail ran is accepted and gives no record.
func TestLiteLLMLogFormats(t *testing.T) {
	lines := strings.Split(strings.TrimSpace(string(fixture(t, "litellm-calls.ndjson"))), "\n")
	want := expectedLines(t, "litellm-calls.ndjson")
	for name, body := range map[string]string{
		"json_array": "[" + strings.Join(lines, ",") + "]",
		"ndjson":     strings.Join(lines, "\n") + "\n",
	} {
		t.Run(name, func(t *testing.T) {
			sink := new(consumertest.LogsSink)
			url := startReceiver(t, nil, sink)
			a := post(t, url+pathLiteLLM, "application/json", "", []byte(body))
			require.Equal(t, http.StatusOK, a.status, a.body)
			assert.Equal(t, map[string]any{"accepted": float64(len(want))}, a.body)
			assert.Equal(t, want, sinkLines(t, sink))
		})
	}
	t.Run("single", func(t *testing.T) {
		sink := new(consumertest.LogsSink)
		url := startReceiver(t, nil, sink)
		a := post(t, url+pathLiteLLM, "application/json", "", []byte(lines[1]))
		require.Equal(t, http.StatusOK, a.status, a.body)
		assert.Equal(t, want[1:3], sinkLines(t, sink), "a call with two guardrails is two records")
	})
	t.Run("no guardrail ran", func(t *testing.T) {
		sink := new(consumertest.LogsSink)
		url := startReceiver(t, nil, sink)
		a := post(t, url+pathLiteLLM, "application/json", "", []byte(lines[7]))
		require.Equal(t, http.StatusOK, a.status, a.body)
		assert.Equal(t, map[string]any{"accepted": float64(0)}, a.body)
		assert.Empty(t, sink.AllLogs(), "nothing handed on")
	})
	t.Run("audit", func(t *testing.T) {
		sink := new(consumertest.LogsSink)
		url := startReceiver(t, nil, sink)
		a := post(t, url+pathLiteLLM, "application/json", "", fixture(t, "litellm-audit.ndjson"))
		require.Equal(t, http.StatusOK, a.status, a.body)
		assert.Equal(t, expectedLines(t, "litellm-audit.ndjson"), sinkLines(t, sink))
	})
}

// Kong's http-log plugin posts one object, or a JSON array when it
// batches; file-log lines arrive as NDJSON.
func TestKongLogShapes(t *testing.T) {
	var entries []json.RawMessage
	require.NoError(t, json.Unmarshal(fixture(t, "kong-http-log.json"), &entries))
	want := expectedLines(t, "kong-http-log.json")
	var lines []string
	for _, e := range entries {
		var buf bytes.Buffer
		require.NoError(t, json.Compact(&buf, e))
		lines = append(lines, buf.String())
	}
	for name, tc := range map[string]struct{ contentType, body string }{
		"http-log batch":  {"application/json", string(fixture(t, "kong-http-log.json"))},
		"file-log lines":  {"application/x-ndjson", strings.Join(lines, "\n")},
		"http-log single": {"application/json", lines[0]},
	} {
		t.Run(name, func(t *testing.T) {
			sink := new(consumertest.LogsSink)
			url := startReceiver(t, nil, sink)
			a := post(t, url+pathKong, tc.contentType, "", []byte(tc.body))
			require.Equal(t, http.StatusOK, a.status, a.body)
			if name == "http-log single" {
				assert.Equal(t, want[:1], sinkLines(t, sink))
				return
			}
			assert.Equal(t, want, sinkLines(t, sink))
		})
	}
}

// max_records_per_request bounds what a request becomes: LiteLLM calls
// with two guardrails each, fewer objects than the limit but more records,
// are refused whole with a 413.
func TestRecordLimitCountsWhatPayloadsBecome(t *testing.T) {
	calls := strings.Split(strings.TrimSpace(string(fixture(t, "litellm-calls.ndjson"))), "\n")
	single, call := calls[0], calls[1] // one guardrail, two guardrails
	cfg := createDefaultConfig()
	cfg.MaxRecordsPerRequest = 10
	sink := new(consumertest.LogsSink)
	url := startReceiver(t, cfg, sink)
	a := post(t, url+pathLiteLLM, "application/json", "", []byte(strings.Repeat(call+"\n", 6)))
	assert.Equal(t, http.StatusRequestEntityTooLarge, a.status, a.body)
	// Exactly one record over the limit, from six objects: the boundary.
	a = post(t, url+pathLiteLLM, "application/json", "", []byte(strings.Repeat(call+"\n", 5)+single+"\n"))
	assert.Equal(t, http.StatusRequestEntityTooLarge, a.status, a.body)
	assert.Contains(t, a.body["error"], "more than 10 records from one request")
	assert.Empty(t, sink.AllLogs(), "nothing accepted")
	a = post(t, url+pathLiteLLM, "application/json", "", []byte(strings.Repeat(call+"\n", 5)))
	assert.Equal(t, http.StatusOK, a.status, a.body)
}
