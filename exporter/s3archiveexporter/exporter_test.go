package s3archiveexporter

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

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/policyaudit/policyaudit/exporter/s3archiveexporter/internal/metadata"
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
	cfg.AWSS3.S3Uploader.S3Bucket = "policy-audit"
	cfg.AWSS3.S3Uploader.Endpoint = srv.URL
	cfg.AWSS3.S3Uploader.S3ForcePathStyle = true
	cfg.AWSS3.S3Uploader.RetryMode = "nop" // awss3 alone: one attempt, then drop
	cfg.AWSS3.MarshalerName = "body"
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

func TestValidateNamesTheKey(t *testing.T) {
	cfg := createDefaultConfig()
	cfg.AWSS3.S3Uploader.S3Bucket = "b"
	cfg.AWSS3.QueueSettings.Enabled = true
	cfg.AWSS3.S3Uploader.RetryMode = "sometimes"
	err := cfg.Validate()
	assert.ErrorContains(t, err, "awss3.sending_queue")
	assert.ErrorContains(t, err, "awss3: ")
	assert.Equal(t, time.Duration(0), createDefaultConfig().RetryConfig.MaxElapsedTime, "retries have no time limit by default")
}
