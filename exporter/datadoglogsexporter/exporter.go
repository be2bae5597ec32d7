// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package datadoglogsexporter

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/policyaudit/policyaudit/exporter/datadoglogsexporter/internal/metadata"
	"github.com/policyaudit/policyaudit/internal/plogutil"
)

type intakeExporter struct {
	cfg       *Config
	set       exporter.Settings
	telemetry *metadata.TelemetryBuilder
	client    *http.Client
	url       string
	hostname  string
	now       func() time.Time
}

func newIntakeExporter(set exporter.Settings, cfg *Config) (*intakeExporter, error) {
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	return &intakeExporter{cfg: cfg, set: set, telemetry: tb, url: cfg.intakeURL(), now: time.Now}, nil
}

func (e *intakeExporter) start(ctx context.Context, host component.Host) error {
	client, err := e.cfg.ToClient(ctx, host.GetExtensions(), e.set.TelemetrySettings)
	if err != nil {
		return fmt.Errorf("datadog_logs: %w", err)
	}
	e.client = client
	e.hostname = e.cfg.Hostname
	if e.hostname == "" {
		if e.hostname, err = os.Hostname(); err != nil {
			return fmt.Errorf("datadog_logs: hostname is not set and this host's name is unknown: %w", err)
		}
	}
	return nil
}

func (e *intakeExporter) shutdown(context.Context) error {
	if e.client != nil {
		e.client.CloseIdleConnections()
	}
	e.telemetry.Shutdown()
	return nil
}

// pushLogs posts the batch in arrays within the intake's limits, in order,
// and returns only once the intake accepted each: what it did not is
// returned for a retry, without the arrays it already took.
func (e *intakeExporter) pushLogs(ctx context.Context, ld plog.Logs) error {
	now := e.now()
	records := make([]plog.LogRecord, 0, ld.LogRecordCount())
	entries := make([]entry, 0, ld.LogRecordCount())
	undated := 0
	for _, rl := range ld.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				b, u := appendEntry(nil, rl.Resource().Attributes(), lr, e.hostname, now)
				if u {
					undated++
				}
				records = append(records, lr)
				entries = append(entries, b)
			}
		}
	}
	if undated > 0 {
		e.telemetry.ExporterDatadogLogsUndated.Add(ctx, int64(undated))
	}
	sent := 0
	for _, p := range payloads(entries) {
		if err := e.post(ctx, p); err != nil {
			if consumererror.IsPermanent(err) {
				return err
			}
			return consumererror.NewLogs(err, plogutil.LogsOf(records[sent:]))
		}
		sent += len(p)
	}
	return nil
}

// post sends one array and maps the intake's answer: 2xx accepted; 408,
// 429 and 5xx retried (with the intake's Retry-After); other 4xx permanent,
// as the request itself is at fault.
func (e *intakeExporter) post(ctx context.Context, p []entry) error {
	var body bytes.Buffer
	zw := gzip.NewWriter(&body)
	_, _ = zw.Write([]byte{'['})
	for i, en := range p {
		if i > 0 {
			_, _ = zw.Write([]byte{','})
		}
		_, _ = zw.Write(en)
	}
	_, _ = zw.Write([]byte{']'})
	if err := zw.Close(); err != nil {
		return consumererror.NewPermanent(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url, &body)
	if err != nil {
		return consumererror.NewPermanent(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "gzip")
	req.Header.Set("DD-API-KEY", string(e.cfg.APIKey))
	resp, err := e.client.Do(req)
	if err != nil {
		return fmt.Errorf("datadog_logs: posting %d logs: %w", len(p), err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		return nil
	case code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500:
		err := fmt.Errorf("datadog_logs: the intake answered %d: %s", code, answer)
		if s, perr := strconv.Atoi(resp.Header.Get("Retry-After")); perr == nil && s > 0 {
			return exporterhelper.NewThrottleRetry(err, time.Duration(s)*time.Second)
		}
		return err
	default:
		return consumererror.NewPermanent(fmt.Errorf("datadog_logs: the intake refused %d logs with %d: %s", len(p), code, answer))
	}
}
