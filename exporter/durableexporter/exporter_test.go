// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package durableexporter

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/awss3exporter"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/policyaudit/policyaudit/exporter/durableexporter/internal/metadata"
	"github.com/policyaudit/policyaudit/test/peers/elasticsearch"
)

func init() {
	// Static credentials: the SDK must not go looking for instance metadata.
	os.Setenv("AWS_ACCESS_KEY_ID", "AKIATESTTESTTESTTEST")
	os.Setenv("AWS_SECRET_ACCESS_KEY", "test-secret")
	os.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

// flakyS3 answers PutObject with 503 until it is told to recover, then
// stores the objects.
type flakyS3 struct {
	mu      sync.Mutex
	down    bool
	refused int
	objects map[string]string
}

func (f *flakyS3) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		f.refused++
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, `<Error><Code>ServiceUnavailable</Code><Message>down for the test</Message></Error>`)
		return
	}
	if r.Method == http.MethodPut {
		f.objects[r.URL.Path] = string(body)
	}
	w.Header().Set("ETag", `"1"`)
}

func (f *flakyS3) set(down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = down
}

func logs(body string) plog.Logs {
	ld := plog.NewLogs()
	ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetStr(body)
	return ld
}

// An upload that fails is retried by the collector's retry until S3 is
// back, where awss3 alone would have given up after its SDK's attempts.
func TestUploadsAreRetriedUntilS3IsBack(t *testing.T) {
	s3 := &flakyS3{down: true, objects: map[string]string{}}
	srv := httptest.NewServer(s3)
	defer srv.Close()

	cfg := createDefaultConfig()
	cfg.QueueConfig.Enabled = false // synchronous, to watch the retries
	cfg.RetryConfig.InitialInterval = 10 * time.Millisecond
	cfg.RetryConfig.MaxInterval = 50 * time.Millisecond
	cfg.Exporter = "awss3"
	cfg.Settings = map[string]any{
		"s3uploader": map[string]any{
			"s3_bucket": "policy-audit", "endpoint": srv.URL, "s3_force_path_style": true,
			"retry_mode": "nop", // awss3 alone: one attempt, then drop
		},
		"marshaler": "body",
	}
	require.NoError(t, cfg.Validate())

	set := exportertest.NewNopSettings(metadata.Type)
	core, logged := observer.New(zap.InfoLevel)
	set.Logger = zap.New(core)
	exp, err := NewFactory().CreateLogs(context.Background(), set, cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
	defer func() { require.NoError(t, exp.Shutdown(context.Background())) }()

	go func() {
		time.Sleep(300 * time.Millisecond)
		s3.set(false)
	}()
	require.NoError(t, exp.ConsumeLogs(context.Background(), logs(`{"event_id":"e-1"}`)))

	assert.NotZero(t, logged.FilterMessageSnippet("Will retry").Len(), "the retries are logged")
	assert.Zero(t, logged.FilterMessageSnippet("Rejecting data").Len(), "awss3's own rejection is not: nothing was rejected")

	s3.mu.Lock()
	defer s3.mu.Unlock()
	assert.Greater(t, s3.refused, 1, "the upload was retried while S3 was down")
	require.Len(t, s3.objects, 1)
	for key, body := range s3.objects {
		assert.True(t, strings.HasPrefix(key, "/policy-audit/"), key)
		assert.Equal(t, `{"event_id":"e-1"}`, strings.TrimSpace(body))
	}
}

// elasticsearch gives up when a bulk flush outlasts its timeout; wrapped,
// the batch waits and is indexed once the cluster answers, exactly once.
func TestElasticsearchFlushesAreRetriedUntilTheClusterIsBack(t *testing.T) {
	es := elasticsearch.Start("key")
	defer es.Close()
	es.SetDown(true)

	cfg := createDefaultConfig()
	cfg.QueueConfig.Enabled = false
	cfg.RetryConfig.InitialInterval = 20 * time.Millisecond
	cfg.RetryConfig.MaxInterval = 100 * time.Millisecond
	cfg.Exporter = "elasticsearch"
	cfg.Settings = map[string]any{
		"endpoints": []any{es.URL}, "api_key": "key",
		"mapping":         map[string]any{"mode": "bodymap"},
		"logs_dynamic_id": map[string]any{"enabled": true},
		"retry":           map[string]any{"enabled": true, "max_retries": 1, "initial_interval": "10ms", "max_interval": "10ms", "retry_on_status": []any{503}},
		"timeout":         "200ms",
	}
	require.NoError(t, cfg.Validate())
	exp, err := NewFactory().CreateLogs(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
	defer func() { require.NoError(t, exp.Shutdown(context.Background())) }()

	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.Attributes().PutStr("elasticsearch.document_id", "e-1")
	lr.Attributes().PutStr("data_stream.dataset", "policy_gateway.audit")
	doc := lr.Body().SetEmptyMap()
	doc.PutStr("@timestamp", "2026-03-02T09:00:00.000Z")
	doc.PutEmptyMap("policy").PutStr("event_id", "e-1")

	go func() {
		time.Sleep(time.Second) // five flush timeouts
		es.SetDown(false)
	}()
	require.NoError(t, exp.ConsumeLogs(context.Background(), ld))
	docs := es.Docs()
	require.Len(t, docs, 1)
	assert.Equal(t, "e-1", docs[0].ID)
	assert.Equal(t, "logs-policy_gateway.audit-default", docs[0].Index)
	assert.Empty(t, es.Violations())
}

// An empty request (a persistent queue can hand one on) is dropped before
// the wrapped exporter, which would panic on it, sees it.
func TestEmptyRequestsAreDropped(t *testing.T) {
	cfg := createDefaultConfig()
	cfg.QueueConfig.Enabled = false
	cfg.Exporter = "awss3"
	cfg.Settings = map[string]any{"s3uploader": map[string]any{"s3_bucket": "policy-audit", "endpoint": "http://127.0.0.1:1"}}
	exp, err := NewFactory().CreateLogs(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
	defer func() { require.NoError(t, exp.Shutdown(context.Background())) }()
	for _, ld := range []plog.Logs{plog.NewLogs(), func() plog.Logs { ld := plog.NewLogs(); ld.ResourceLogs().AppendEmpty(); return ld }()} {
		assert.NotPanics(t, func() { assert.NoError(t, exp.ConsumeLogs(context.Background(), ld)) })
	}
}

// durable drops the wrapped exporter's rejection log by its message (see
// rejectedMessage): here the exporterhelper of go.mod, under awss3 built as
// durable builds it (its queue off), fails an export. Unfiltered, it must
// log exactly that message, or the filter matches nothing after an update
// of the collector and every failed attempt is logged as rejected data
// again; filtered, that line is gone and the rest of the log is not.
func TestRejectionLogIsStillExporterhelpers(t *testing.T) {
	cfg := createDefaultConfig()
	cfg.Exporter = "awss3"
	cfg.Settings = map[string]any{"s3uploader": map[string]any{
		"s3_bucket": "policy-audit", "endpoint": "http://127.0.0.1:1", "retry_mode": "nop",
	}}
	innerCfg, err := cfg.innerConfig()
	require.NoError(t, err)

	exportOnce := func(logger *zap.Logger) {
		set := exportertest.NewNopSettings(awss3exporter.NewFactory().Type())
		set.Logger = logger
		exp, err := awss3exporter.NewFactory().CreateLogs(context.Background(), set, innerCfg)
		require.NoError(t, err)
		require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
		defer func() { require.NoError(t, exp.Shutdown(context.Background())) }()
		require.Error(t, exp.ConsumeLogs(context.Background(), logs(`{"event_id":"e-1"}`)), "nothing listens on port 1")
	}
	rejections := func(logged *observer.ObservedLogs) []observer.LoggedEntry {
		return logged.Filter(func(e observer.LoggedEntry) bool {
			return e.Level == zap.ErrorLevel && strings.HasPrefix(e.Message, rejectedMessage)
		}).All()
	}

	core, logged := observer.New(zap.DebugLevel)
	exportOnce(zap.New(core))
	require.Len(t, rejections(logged), 1,
		"exporterhelper no longer logs a failed export as %q: update rejectedMessage in factory.go to what it logs now: %v",
		rejectedMessage, logged.All())
	assert.Contains(t, rejections(logged)[0].ContextMap(), "rejected_items")

	core, filtered := observer.New(zap.DebugLevel)
	exportOnce(wrappedLogger(zap.New(core)))
	assert.Empty(t, rejections(filtered), "durable's wrapping drops it")
	assert.Equal(t, logged.Len()-1, filtered.Len(), "and only it")
}
