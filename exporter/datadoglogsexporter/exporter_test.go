// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package datadoglogsexporter

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/policyaudit/policyaudit/exporter/datadoglogsexporter/internal/metadata"
	"github.com/policyaudit/policyaudit/exporter/datadoglogsexporter/internal/metadatatest"
	"github.com/policyaudit/policyaudit/test/peers/datadog"
)

const apiKey = "0123456789abcdef0123456789abcdef"

// shaped are n log records as the processor's datadog shape writes them:
// the record's fields as attributes and the intake's reserved keys.
func shaped(n int, created time.Time) plog.Logs {
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for i := range n {
		lr := lrs.AppendEmpty()
		lr.SetTimestamp(pcommon.NewTimestampFromTime(created))
		a := lr.Attributes()
		a.PutStr("event_id", fmt.Sprintf("ev-%05d", i))
		a.PutStr("decision", "deny")
		a.PutStr("created_at", created.UTC().Format(time.RFC3339Nano))
		a.PutInt("score", int64(i))
		a.PutStr(attrSource, "policy-gateway")
		a.PutStr(attrService, "policy-gateway")
		a.PutStr(attrTags, "decision:deny,policy_id:p")
	}
	return ld
}

// start is the exporter, without a queue (ConsumeLogs returns the intake's
// verdict), posting to url.
func start(t *testing.T, url string, set func(*Config)) (*intakeExporter, func(context.Context, plog.Logs) error) {
	cfg := createDefaultConfig()
	cfg.Endpoint, cfg.APIKey, cfg.Hostname = url, configopaque.String(apiKey), "sidecar-0"
	if set != nil {
		set(cfg)
	}
	require.NoError(t, cfg.Validate())
	e, err := newIntakeExporter(exportertest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	require.NoError(t, e.start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, e.shutdown(context.Background())) })
	return e, e.pushLogs
}

// Every log reaches the intake once, in arrays it accepts (2,500 logs:
// three arrays, the intake refusing more than 1,000 in one), with its
// fields, reserved keys, host and date; a slow intake is waited for.
func TestEveryLogReachesTheIntake(t *testing.T) {
	peer := datadog.Start(apiKey)
	defer peer.Close()
	peer.SetDelay(300 * time.Millisecond)
	now := time.Now()
	_, push := start(t, peer.URL, nil)
	began := time.Now()
	require.NoError(t, push(context.Background(), shaped(2500, now.Add(-time.Minute))))
	assert.GreaterOrEqual(t, time.Since(began), 900*time.Millisecond, "three arrays, each answered after the intake's delay")
	logs := peer.Logs()
	require.Len(t, logs, 2500)
	seen := map[string]bool{}
	for _, l := range logs {
		seen[l.Attributes["event_id"].(string)] = true
		assert.Equal(t, "policy-gateway", l.Source)
		assert.Equal(t, "policy-gateway", l.Service)
		assert.Equal(t, "sidecar-0", l.Hostname)
		v, _ := l.Tag("decision")
		assert.Equal(t, "deny", v)
		assert.WithinDuration(t, now.Add(-time.Minute), l.Time, time.Millisecond)
		assert.NotContains(t, l.Attributes, attrTags, "reserved keys are not attributes")
	}
	assert.Len(t, seen, 2500)
	assert.Zero(t, peer.Stale())
}

// A record older than the intake keeps goes undated: the intake dates it on
// arrival rather than dropping it, and its created_at stays.
func TestAnOldRecordIsSentUndated(t *testing.T) {
	peer := datadog.Start(apiKey)
	defer peer.Close()
	tel := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tel.Shutdown(context.Background())) }()
	cfg := createDefaultConfig()
	cfg.Endpoint, cfg.APIKey, cfg.Hostname = peer.URL, configopaque.String(apiKey), "h"
	e, err := newIntakeExporter(metadatatest.NewSettings(tel), cfg)
	require.NoError(t, err)
	require.NoError(t, e.start(context.Background(), componenttest.NewNopHost()))
	defer func() { require.NoError(t, e.shutdown(context.Background())) }()
	created := time.Now().Add(-20 * time.Hour)
	require.NoError(t, e.pushLogs(context.Background(), shaped(3, created)))
	require.Len(t, peer.Logs(), 3)
	assert.Zero(t, peer.Stale())
	assert.Equal(t, created.UTC().Format(time.RFC3339Nano), peer.Logs()[0].Attributes["created_at"])
	metadatatest.AssertEqualExporterDatadogLogsUndated(t, tel, []metricdata.DataPoint[int64]{{Value: 3}}, metricdatatest.IgnoreTimestamp())
}

// The intake's answers: 5xx and 429 are retried (with its Retry-After), a
// bad request or key is permanent, and after a failure only the arrays the
// intake did not take are retried.
func TestIntakeAnswers(t *testing.T) {
	for _, tc := range []struct {
		status     int
		retryAfter string
		permanent  bool
	}{{503, "", false}, {500, "", false}, {429, "7", false}, {408, "", false}, {400, "", true}, {403, "", true}, {413, "", true}} {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				if tc.retryAfter != "" {
					w.Header().Set("Retry-After", tc.retryAfter)
				}
				w.WriteHeader(tc.status)
			}))
			defer srv.Close()
			_, push := start(t, srv.URL, nil)
			err := push(context.Background(), shaped(2, time.Now()))
			require.Error(t, err)
			assert.Equal(t, tc.permanent, consumererror.IsPermanent(err), "%v", err)
			if tc.retryAfter != "" {
				assert.Contains(t, fmt.Sprintf("%+v", err), "7s")
			}
		})
	}
	// The second array fails: the retry holds only its logs.
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		calls++
		if calls == 2 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	_, push := start(t, srv.URL, nil)
	err := push(context.Background(), shaped(1500, time.Now()))
	var logsErr consumererror.Logs
	require.ErrorAs(t, err, &logsErr)
	assert.Equal(t, 500, logsErr.Data().LogRecordCount(), "the first 1,000 were accepted")
}

func TestValidate(t *testing.T) {
	cfg := createDefaultConfig()
	cfg.Site = ""
	err := cfg.Validate()
	assert.ErrorContains(t, err, "api_key: must be set")
	assert.ErrorContains(t, err, "site or endpoint: one must be set")
	cfg.Endpoint = "intake.example"
	assert.ErrorContains(t, cfg.Validate(), "endpoint: must be an http:// or https:// URL")
	cfg = createDefaultConfig()
	cfg.Site = "datadoghq.eu"
	assert.Equal(t, "https://http-intake.logs.datadoghq.eu/api/v2/logs", cfg.intakeURL())
}
