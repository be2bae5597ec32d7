// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package decisionmetricsconnector

import (
	"context"
	"flag"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/golden"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/pmetrictest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/policyaudit/policyaudit/connector/decisionmetricsconnector/internal/metadata"
	"github.com/policyaudit/policyaudit/connector/decisionmetricsconnector/internal/metadatatest"
	"github.com/policyaudit/policyaudit/internal/record"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// logs are canonical records: decisions of two policies in two rollout
// modes, admin events on a policy (by resource and by policy_id) and on a
// key, and a body that is not a canonical record.
func logs() plog.Logs {
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	decision := func(policy, version, verdict, effective, mode, user string) {
		m := lrs.AppendEmpty().Body().SetEmptyMap()
		m.PutStr(record.FieldEventKind, record.EventKindDecision)
		m.PutStr(record.FieldPolicyID, policy)
		m.PutStr(record.FieldPolicyVersion, version)
		m.PutStr(record.FieldDecision, verdict)
		m.PutStr(record.FieldEffectiveDecision, effective)
		m.PutStr(record.FieldRolloutMode, mode)
		m.PutStr(record.FieldPolicyUser, user)
		m.PutStr(record.FieldCorrelationID, "req-"+user)
	}
	admin := func(action, typ, id, policy string) {
		m := lrs.AppendEmpty().Body().SetEmptyMap()
		m.PutStr(record.FieldEventKind, record.EventKindAdmin)
		m.PutStr(record.FieldAction, action)
		r := m.PutEmptyMap(record.FieldResource)
		r.PutStr(record.SubfieldType, typ)
		r.PutStr(record.SubfieldID, id)
		if policy != "" {
			m.PutStr(record.FieldPolicyID, policy)
		}
		m.PutStr(record.FieldOutcome, "success")
		m.PutEmptyMap(record.FieldActor).PutStr(record.SubfieldID, "carol@example.com")
	}
	for _, u := range []string{"alice", "bob", "carol"} {
		decision("pii-guard", "v3", "deny", "deny", "enforced", u)
	}
	decision("pii-guard", "v3", "allow", "allow", "enforced", "dave")
	decision("jailbreak", "v1", "deny", "allow", "shadow", "erin")
	decision("jailbreak", "v1", "deny", "allow", "shadow", "frank")
	admin("policy.update", "policy", "pii-guard", "")
	admin("guardrail.disable", "guardrail", "g-7", "jailbreak")
	admin("key.revoke", "api_key", "key_9f2", "")
	lrs.AppendEmpty().Body().SetStr("not a record")
	return ld
}

func newTestConnector(t *testing.T, cfg *Config) (*decisionMetrics, *consumertest.MetricsSink, *componenttest.Telemetry) {
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	set := connectortest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = tel.NewTelemetrySettings()
	sink := new(consumertest.MetricsSink)
	c, err := newConnector(set, cfg, sink)
	require.NoError(t, err)
	return c, sink, tel
}

// The counts as the metrics pipeline gets them: one series per label set,
// users and correlation IDs in none; an admin event names the policy it
// changed (its policy_id, or the policy it is about).
func TestRecordsAreCountedByPolicyVerdictAndMode(t *testing.T) {
	c, _, tel := newTestConnector(t, createDefaultConfig())
	require.NoError(t, c.ConsumeLogs(context.Background(), logs()))
	require.NoError(t, c.ConsumeLogs(context.Background(), logs()))
	got := c.metrics(pcommon.NewTimestampFromTime(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)))
	path := filepath.Join("testdata", "metrics.yaml")
	if *update {
		require.NoError(t, golden.WriteMetrics(t, path, got))
	}
	want, err := golden.ReadMetrics(path)
	require.NoError(t, err)
	require.NoError(t, pmetrictest.CompareMetrics(want, got, pmetrictest.IgnoreStartTimestamp(), pmetrictest.IgnoreTimestamp(), pmetrictest.IgnoreMetricDataPointsOrder()))

	metadatatest.AssertEqualConnectorDecisionmetricsUnreadableRecords(t, tel, []metricdata.DataPoint[int64]{{Value: 2}}, metricdatatest.IgnoreTimestamp())
}

// Beyond max_series, new label sets are counted in one overflow series per
// metric, and said in telemetry.
func TestSeriesBeyondTheLimitAreCountedAsOverflow(t *testing.T) {
	c, _, tel := newTestConnector(t, &Config{Interval: time.Hour, MaxSeries: 2})
	require.NoError(t, c.ConsumeLogs(context.Background(), logs()))
	got := c.metrics(pcommon.NewTimestampFromTime(time.Now()))
	total, overflowed := int64(0), int64(0)
	for _, m := range got.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().All() {
		for _, dp := range m.Sum().DataPoints().All() {
			total += dp.IntValue()
			if v, _ := dp.Attributes().Get(record.FieldPolicyID); v.Str() == overflow {
				overflowed += dp.IntValue()
			}
		}
	}
	assert.Equal(t, int64(9), total, "every record is counted, in a series or in the overflow")
	assert.Equal(t, int64(9-3-1), overflowed, "the first two label sets (3 and 1 records) keep their series")
	metadatatest.AssertEqualConnectorDecisionmetricsOverflowRecords(t, tel, []metricdata.DataPoint[int64]{{Value: 5}}, metricdatatest.IgnoreTimestamp())
}

// Started, the connector sends the cumulative counts every interval and
// once more at shutdown, which is safe twice.
func TestCountsAreSentEveryIntervalAndAtShutdown(t *testing.T) {
	c, sink, _ := newTestConnector(t, &Config{Interval: 50 * time.Millisecond, MaxSeries: 100})
	require.NoError(t, c.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, c.ConsumeLogs(context.Background(), logs()))
	require.Eventually(t, func() bool { return len(sink.AllMetrics()) > 0 }, 5*time.Second, 10*time.Millisecond)
	require.NoError(t, c.ConsumeLogs(context.Background(), logs()))
	require.NoError(t, c.Shutdown(context.Background()))
	require.NoError(t, c.Shutdown(context.Background()))
	all := sink.AllMetrics()
	last := all[len(all)-1]
	assert.Equal(t, int64(6), countOf(last, MetricDecisions, record.FieldPolicyID, "pii-guard", record.FieldDecision, "deny"),
		"the last send carries both batches: pii-guard's three enforced denials twice")
}

// countOf is the value of metric's data point whose labels hold kv.
func countOf(md pmetric.Metrics, metric string, kv ...string) int64 {
	for _, m := range md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().All() {
		if m.Name() != metric {
			continue
		}
	points:
		for _, dp := range m.Sum().DataPoints().All() {
			for i := 0; i < len(kv); i += 2 {
				if v, _ := dp.Attributes().Get(kv[i]); v.Str() != kv[i+1] {
					continue points
				}
			}
			return dp.IntValue()
		}
	}
	return -1
}

// A sender with the receiver's token cannot grow the connector's memory
// past max_series series of short labels: a record with a label longer
// than maxLabelBytes, or a verdict outside the contract's, lands in the
// overflow series, whose values are the contract's enums only.
func TestHostileLabelValuesAreBounded(t *testing.T) {
	c, _, tel := newTestConnector(t, &Config{Interval: time.Hour, MaxSeries: 1000})
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	long := strings.Repeat("p", 64<<10)
	for i := range 200 {
		m := lrs.AppendEmpty().Body().SetEmptyMap()
		m.PutStr(record.FieldEventKind, record.EventKindDecision)
		m.PutStr(record.FieldPolicyID, fmt.Sprintf("%s-%d", long, i))
		m.PutStr(record.FieldPolicyVersion, "v1")
		m.PutStr(record.FieldDecision, "deny")
		m.PutStr(record.FieldEffectiveDecision, fmt.Sprintf("made-up-%d", i))
		m.PutStr(record.FieldRolloutMode, "enforced")
	}
	require.NoError(t, c.ConsumeLogs(context.Background(), ld))
	got := c.metrics(pcommon.NewTimestampFromTime(time.Now()))
	points := got.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Sum().DataPoints()
	require.Equal(t, 1, points.Len(), "every hostile record in one overflow series")
	labels := points.At(0).Attributes().AsRaw()
	assert.Equal(t, map[string]any{record.FieldPolicyID: overflow, record.FieldPolicyVersion: overflow, record.FieldDecision: "deny",
		record.FieldEffectiveDecision: overflow, record.FieldRolloutMode: "enforced"}, labels)
	assert.Equal(t, int64(200), points.At(0).IntValue())
	metadatatest.AssertEqualConnectorDecisionmetricsOverflowRecords(t, tel, []metricdata.DataPoint[int64]{{Value: 200}}, metricdatatest.IgnoreTimestamp())
}
