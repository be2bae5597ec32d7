// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package azurelogsingestionexporter

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/policyaudit/policyaudit/exporter/azurelogsingestionexporter/internal/metadata"
	"github.com/policyaudit/policyaudit/exporter/azurelogsingestionexporter/internal/metadatatest"
	"github.com/policyaudit/policyaudit/test/peers/azure"
)

// startPeer serves the DCR of the shipped template (no Azure here: the peer
// holds Microsoft's documented contract).
func startPeer(t *testing.T) *azure.Server {
	t.Helper()
	streams, err := azure.StreamsFromTemplate(templatePath)
	require.NoError(t, err)
	p, err := azure.Start(t.TempDir(), streams)
	require.NoError(t, err)
	t.Cleanup(p.Close)
	return p
}

// startExporter starts the exporter against the peer, with the collector's
// retry (fast) and no queue, so ConsumeLogs returns once delivered.
func startExporter(t *testing.T, p *azure.Server, change ...func(*Config)) exporter.Logs {
	t.Helper()
	return startExporterWith(t, exportertest.NewNopSettings(metadata.Type), p, change...)
}

func startExporterWith(t *testing.T, set exporter.Settings, p *azure.Server, change ...func(*Config)) exporter.Logs {
	t.Helper()
	cfg := createDefaultConfig()
	cfg.Endpoint, cfg.RuleID, cfg.AuthorityHost = p.URL, p.RuleID, p.URL+"/"
	cfg.Auth.TenantID, cfg.Auth.ClientID, cfg.Auth.ClientSecret = p.Tenant, p.ClientID, configopaque.String(p.Secret)
	cfg.TLS.CAFile = p.CAFile
	cfg.QueueConfig = exporterhelper.QueueBatchConfig{}
	cfg.RetryConfig.InitialInterval = 50 * time.Millisecond
	cfg.RetryConfig.MaxInterval = 200 * time.Millisecond
	for _, c := range change {
		c(cfg)
	}
	require.NoError(t, cfg.Validate())
	exp, err := NewFactory().CreateLogs(context.Background(), set, cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, exp.Shutdown(context.Background())) })
	return exp
}

// canonicalLogs reads the golden canonical records (every dialect, both
// kinds) as the policydecision processor hands them on.
func canonicalLogs(t *testing.T) (plog.Logs, map[string]map[string]any) {
	t.Helper()
	files, err := filepath.Glob("../../testdata/expected/*.jsonl")
	require.NoError(t, err)
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	byID := map[string]map[string]any{}
	for _, f := range files {
		file, err := os.Open(f)
		require.NoError(t, err)
		sc := bufio.NewScanner(file)
		sc.Buffer(nil, 4<<20)
		for sc.Scan() {
			var rec map[string]any
			require.NoError(t, json.Unmarshal(sc.Bytes(), &rec))
			require.NoError(t, lrs.AppendEmpty().Body().SetEmptyMap().FromRaw(rec))
			byID[rec["event_id"].(string)] = rec
		}
		require.NoError(t, file.Close())
	}
	require.NotEmpty(t, byID)
	return ld, byID
}

// rowsByEventID gathers both streams' rows.
func rowsByEventID(p *azure.Server) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, stream := range []string{"Custom-PolicyAuditDecisions", "Custom-PolicyAuditAdmin"} {
		for _, row := range p.Rows(stream) {
			row["_stream"] = stream
			out[row["EventId"].(string)] = row
		}
	}
	return out
}

// TestEveryRecordArrivesTyped: every golden record, both kinds, arrives in
// its kind's stream as a row the shipped DCR declares, each value typed.
func TestEveryRecordArrivesTyped(t *testing.T) {
	p := startPeer(t)
	exp := startExporter(t, p)
	ld, want := canonicalLogs(t)
	require.NoError(t, exp.ConsumeLogs(context.Background(), ld))
	assert.Empty(t, p.Violations())

	rows := rowsByEventID(p)
	require.Len(t, rows, len(want))
	for id, rec := range want {
		row := rows[id]
		require.NotNil(t, row, id)
		assert.Equal(t, rec["created_at"], row["TimeGenerated"])
		assert.Equal(t, rec["correlation_id"], row["CorrelationId"])
		if rec["event_kind"] == "admin_audit" {
			assert.Equal(t, "Custom-PolicyAuditAdmin", row["_stream"])
			assert.Equal(t, rec["actor"].(map[string]any)["id"], row["ActorId"])
			assert.Equal(t, rec["action"], row["Action"])
			continue
		}
		assert.Equal(t, "Custom-PolicyAuditDecisions", row["_stream"])
		assert.Equal(t, rec["decision"], row["Decision"])
		assert.Equal(t, rec["enforced"], row["Enforced"])
		assert.Equal(t, rec["policy_version"], row["PolicyVersion"])
		assert.Equal(t, rec["triggered_categories"], row["TriggeredCategories"])
		assert.Equal(t, rec["extra"], row["Extra"])
	}
}

// manyLogs is n decisions of about size bytes each.
func manyLogs(n, size int) plog.Logs {
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for i := range n {
		m := lrs.AppendEmpty().Body().SetEmptyMap()
		m.PutStr("schema_version", "1")
		m.PutStr("event_kind", "policy_decision")
		m.PutStr("event_id", fmt.Sprintf("ev-%06d", i))
		m.PutStr("created_at", "2026-03-01T12:00:00.000Z")
		m.PutStr("correlation_id", "c-"+strconv.Itoa(i))
		m.PutStr("decision", "deny")
		m.PutBool("enforced", true)
		m.PutEmptyMap("extra").PutStr("note", strings.Repeat("x", size))
	}
	return ld
}

// TestBatchesStayUnderTheLimit: 3,000 records of 2 KB go in several calls,
// each under 1 MB as sent and decompressed (the peer refuses more), each
// record once; a 200 KB value is cut to 64 KB, as the service would.
func TestBatchesStayUnderTheLimit(t *testing.T) {
	p := startPeer(t)
	exp := startExporter(t, p)
	require.NoError(t, exp.ConsumeLogs(context.Background(), manyLogs(3000, 2000)))
	big := manyLogs(1, 200_000)
	big.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Body().Map().PutStr("event_id", "big")
	require.NoError(t, exp.ConsumeLogs(context.Background(), big))
	assert.Empty(t, p.Violations())
	calls, _ := p.Calls()
	assert.GreaterOrEqual(t, calls, 7, "6 MB of rows in calls under 1 MB")
	rows := rowsByEventID(p)
	assert.Len(t, rows, 3001)
	extra := rows["big"]["Extra"]
	s, isString := extra.(string)
	require.True(t, isString, "a dynamic value over 64 KB arrives as the start of its text")
	assert.LessOrEqual(t, len(s), maxValueBytes)
	assert.True(t, strings.HasPrefix(s, `{"note":"xxx`))
}

// TestThrottlingAndAnOutageLoseNothing: 429s with Retry-After and a spell of
// 503s are retried by the collector's retry, and every record arrives once.
func TestThrottlingAndAnOutageLoseNothing(t *testing.T) {
	p := startPeer(t)
	exp := startExporter(t, p)
	p.Throttle(2)
	start := time.Now()
	require.NoError(t, exp.ConsumeLogs(context.Background(), manyLogs(1500, 1000)))
	_, throttled := p.Calls()
	assert.Equal(t, 2, throttled)
	assert.GreaterOrEqual(t, time.Since(start), 2*time.Second, "Retry-After: 1, twice")

	p.SetDown(true)
	done := make(chan error, 1)
	go func() { done <- exp.ConsumeLogs(context.Background(), manyLogs(10, 100)) }()
	time.Sleep(500 * time.Millisecond)
	p.SetDown(false)
	require.NoError(t, <-done)
	assert.Len(t, rowsByEventID(p), 1500, "the 10 reuse event IDs 0-9: each ID once, not twice")
	assert.Len(t, p.Rows("Custom-PolicyAuditDecisions"), 1510, "every row once")
	assert.Empty(t, p.Violations())
}

// TestNonCanonicalBodiesAreRefusedNotRetried: a log record without a
// canonical body is a permanent error, the others still go.
func TestNonCanonicalBodiesAreRefusedNotRetried(t *testing.T) {
	p := startPeer(t)
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	exp := startExporterWith(t, metadatatest.NewSettings(tel), p)
	ld := manyLogs(3, 10)
	ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().AppendEmpty().Body().SetStr("raw text")
	err := exp.ConsumeLogs(context.Background(), ld)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "without a canonical record body")
	assert.Len(t, rowsByEventID(p), 3)
	metadatatest.AssertEqualExporterAzureLogsIngestionRefusedRecords(t, tel, []metricdata.DataPoint[int64]{{Value: 1}}, metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
	metadatatest.AssertEqualExporterAzureLogsIngestionCalls(t, tel, []metricdata.DataPoint[int64]{{Value: 1}}, metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
}

// TestWrongSecretIsRetriedNotDropped: a refused token (a rotated secret) is
// not the data's fault: ConsumeLogs keeps retrying until its context ends.
func TestWrongSecretIsRetriedNotDropped(t *testing.T) {
	p := startPeer(t)
	exp := startExporter(t, p, func(c *Config) { c.Auth.ClientSecret = "the-secret-before-rotation" })
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	err := exp.ConsumeLogs(ctx, manyLogs(1, 10))
	require.Error(t, err)
	assert.Empty(t, rowsByEventID(p))
	assert.NotEmpty(t, p.Violations(), "the token endpoint saw the wrong secret")
}

// The exporter's own shutdown is safe twice, and before it started
// (exporterhelper's retry sender, around it, closes a channel on Shutdown
// and is not: the collector calls it once).
func TestShutdownTwice(t *testing.T) {
	e, err := newAzureLogs(exportertest.NewNopSettings(metadata.Type), createDefaultConfig())
	require.NoError(t, err)
	require.NoError(t, e.shutdown(context.Background()))
	require.NoError(t, e.shutdown(context.Background()))
}

// A call throttled part way through a batch: the retry sends the records
// not yet accepted, and only those (every row arrives once).
func TestARetrySendsOnlyWhatWasNotAccepted(t *testing.T) {
	p := startPeer(t)
	exp := startExporter(t, p)
	p.ThrottleAfter(2, 1) // the third call of the batch
	require.NoError(t, exp.ConsumeLogs(context.Background(), manyLogs(3000, 2000)))
	calls, throttled := p.Calls()
	assert.Equal(t, 1, throttled)
	assert.GreaterOrEqual(t, calls, 7)
	assert.Len(t, p.Rows("Custom-PolicyAuditDecisions"), 3000, "no row twice")
	assert.Len(t, rowsByEventID(p), 3000)
}

// 403 (an identity without Monitoring Metrics Publisher, or one whose role
// assignment has not applied yet) is counted and retried, not dropped.
func TestForbiddenIsRetriedAndCounted(t *testing.T) {
	p := startPeer(t)
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	exp := startExporterWith(t, metadatatest.NewSettings(tel), p)
	p.SetForbidden(true)
	done := make(chan error, 1)
	go func() { done <- exp.ConsumeLogs(context.Background(), manyLogs(5, 10)) }()
	time.Sleep(300 * time.Millisecond)
	p.SetForbidden(false)
	require.NoError(t, <-done)
	assert.Len(t, rowsByEventID(p), 5)
	var refused metricdata.Sum[int64]
	rm := metricdata.ResourceMetrics{}
	require.NoError(t, tel.Reader.Collect(context.Background(), &rm))
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name == "otelcol_exporter_azure_logs_ingestion_refused_records" {
				refused = m.Data.(metricdata.Sum[int64])
			}
		}
	}
	require.Len(t, refused.DataPoints, 1)
	assert.GreaterOrEqual(t, refused.DataPoints[0].Value, int64(5), "each refused attempt counted")
}

// A call the service refuses with 400 (here: a record whose enforced is not
// a boolean, which the rule's column refuses) is permanent for that call's
// records only; the batch's other calls are sent.
func TestARefusedCallDoesNotTakeTheOthers(t *testing.T) {
	p := startPeer(t)
	exp := startExporter(t, p)
	ld := manyLogs(40, 70_000) // 64 KB rows (values are cut there): 15 a call
	ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Body().Map().PutStr("enforced", "yes")
	err := exp.ConsumeLogs(context.Background(), ld)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "records refused")
	assert.Contains(t, err.Error(), "is not a boolean", "the service's text")
	rows := rowsByEventID(p)
	assert.NotContains(t, rows, "ev-000000")
	for i := 30; i < 40; i++ {
		assert.Contains(t, rows, fmt.Sprintf("ev-%06d", i), "the other calls' records")
	}
}

// A hostile record (every string field 64 KB of characters JSON escapes six
// times over) still fits one call: its values are cut to a share each, and
// it arrives rather than being refused as too large.
func TestAHostileRecordStillFitsOneCall(t *testing.T) {
	p := startPeer(t)
	exp := startExporter(t, p)
	ld := manyLogs(1, 10)
	m := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Body().Map()
	hostile := strings.Repeat("\x01", 64<<10)
	for _, c := range Columns(0) {
		switch c.Type {
		case "string":
			if f := snake(c.Name); f != "event_id" && f != "event_kind" {
				m.PutStr(f, hostile)
			}
		case "dynamic":
			m.PutEmptyMap(snake(c.Name)).PutStr("x", hostile)
		}
	}
	require.NoError(t, exp.ConsumeLogs(context.Background(), ld))
	assert.Empty(t, p.Violations(), "no call over 1 MB")
	row := rowsByEventID(p)["ev-000000"]
	require.NotNil(t, row)
	assert.NotEmpty(t, row["ReasonCode"], "cut, not dropped")
}

// snake turns a column name back into its field's name (EventId: event_id).
func snake(name string) string {
	var b strings.Builder
	for i, r := range name {
		if r >= 'A' && r <= 'Z' {
			if i > 0 {
				b.WriteByte('_')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}
