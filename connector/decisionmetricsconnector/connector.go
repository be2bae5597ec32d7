// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package decisionmetricsconnector

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.uber.org/zap"

	"github.com/policyaudit/policyaudit/connector/decisionmetricsconnector/internal/metadata"
	"github.com/policyaudit/policyaudit/internal/pdatajson"
	"github.com/policyaudit/policyaudit/internal/record"
)

// The metrics and their labels. A Prometheus exporter names them
// policyaudit_decisions_total and policyaudit_admin_events_total.
const (
	MetricDecisions   = "policyaudit.decisions"
	MetricAdminEvents = "policyaudit.admin_events"

	// LabelResourceType is the admin event's resource.type.
	LabelResourceType = "resource_type"
	// overflow is the value of the labels an overflow series drops.
	overflow = "_overflow"
)

// DecisionLabels label policyaudit.decisions; AdminLabels label
// policyaudit.admin_events (policy_id: the policy the event changed, so a
// rule can join a change to that policy's decisions). Never a user, a key
// or a correlation ID: the series stay as few as the policies.
var (
	DecisionLabels = []string{record.FieldPolicyID, record.FieldPolicyVersion, record.FieldDecision, record.FieldEffectiveDecision, record.FieldRolloutMode}
	AdminLabels    = []string{record.FieldAction, LabelResourceType, record.FieldPolicyID, record.FieldOutcome}
)

// series is one label set of one metric.
type series struct {
	admin  bool
	values [5]string // in DecisionLabels' or AdminLabels' order
}

type decisionMetrics struct {
	cfg       *Config
	next      consumer.Metrics
	logger    *zap.Logger
	telemetry *metadata.TelemetryBuilder
	start     pcommon.Timestamp

	mu     sync.Mutex
	counts map[series]int64

	started  atomic.Bool
	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
}

func newConnector(set connector.Settings, cfg *Config, next consumer.Metrics) (*decisionMetrics, error) {
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	return &decisionMetrics{cfg: cfg, next: next, logger: set.Logger, telemetry: tb, start: pcommon.NewTimestampFromTime(time.Now()),
		counts: map[series]int64{}, stop: make(chan struct{}), done: make(chan struct{})}, nil
}

func (c *decisionMetrics) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

// Start sends every series each interval, in the background.
func (c *decisionMetrics) Start(context.Context, component.Host) error {
	c.started.Store(true)
	go func() {
		defer close(c.done)
		ticker := time.NewTicker(c.cfg.Interval)
		defer ticker.Stop()
		for {
			select {
			case <-c.stop:
				return
			case <-ticker.C:
				c.send(context.Background())
			}
		}
	}()
	return nil
}

// Shutdown stops the ticker and sends the counts once more, within ctx.
func (c *decisionMetrics) Shutdown(ctx context.Context) error {
	first := false
	c.stopOnce.Do(func() {
		close(c.stop)
		first = true
	})
	if !first {
		return nil
	}
	if c.started.Load() {
		select {
		case <-c.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	c.send(ctx)
	c.telemetry.Shutdown()
	return nil
}

// ConsumeLogs counts the records; it never fails the logs pipeline.
func (c *decisionMetrics) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	var unreadable, overflowed int64
	c.mu.Lock()
	for _, rl := range ld.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				s, ok := seriesOf(lr.Body())
				if !ok {
					unreadable++
					continue
				}
				if _, known := c.counts[s]; !known && (len(c.counts) >= c.cfg.MaxSeries || !s.fits()) {
					s = overflowOf(s)
					overflowed++
				}
				c.counts[s]++
			}
		}
	}
	c.mu.Unlock()
	if unreadable > 0 {
		c.telemetry.ConnectorDecisionmetricsUnreadableRecords.Add(ctx, unreadable)
	}
	if overflowed > 0 {
		c.telemetry.ConnectorDecisionmetricsOverflowRecords.Add(ctx, overflowed)
	}
	return nil
}

// seriesOf is the label set of a canonical record; false for a body that
// is not one.
func seriesOf(body pcommon.Value) (series, bool) {
	if body.Type() != pcommon.ValueTypeMap {
		return series{}, false
	}
	m := body.Map()
	switch pdatajson.StringAt(m, record.FieldEventKind) {
	case record.EventKindDecision:
		var s series
		for i, l := range DecisionLabels {
			s.values[i] = pdatajson.StringAt(m, l)
		}
		return s, true
	case record.EventKindAdmin:
		typ := pdatajson.StringAt(m, record.FieldResource, record.SubfieldType)
		policy := pdatajson.StringAt(m, record.FieldPolicyID)
		if policy == "" && typ == "policy" {
			policy = pdatajson.StringAt(m, record.FieldResource, record.SubfieldID)
		}
		return series{admin: true, values: [5]string{pdatajson.StringAt(m, record.FieldAction), typ, policy, pdatajson.StringAt(m, record.FieldOutcome)}}, true
	}
	return series{}, false
}

// maxLabelBytes bounds a label's value. The receiver takes strings of up
// to 64 KiB: without a bound, a sender with the receiver's token could
// make every one of max_series series hold kilobytes of labels (and hand
// them to Prometheus). A record with a longer value is counted in the
// overflow series.
const maxLabelBytes = 256

// fits reports whether every label value of s is within maxLabelBytes.
func (s series) fits() bool {
	for _, v := range s.values {
		if len(v) > maxLabelBytes {
			return false
		}
	}
	return true
}

// The values an overflow series keeps: the contract's enums (a flagged
// record, or a body from another pipeline, may hold anything else there).
var (
	verdictValues = []string{"", record.DecisionAllow, record.DecisionDeny, record.DecisionModify, record.DecisionRedact, record.DecisionEscalate}
	rolloutValues = []string{"", record.RolloutEnforced, record.RolloutShadow, record.RolloutCanary}
	outcomeValues = []string{"", "success", "failure"}
)

// overflowOf is the overflow series of s: its policy (and, for an admin
// event, its action and resource type) replaced by "_overflow", its
// verdicts, mode and outcome kept when they are the contract's (else
// "_overflow" too). So the overflow series stay few (at most 7 × 7 × 5 for
// decisions, 4 for admin events) and a deny ratio still sees the
// overflowed denials.
func overflowOf(s series) series {
	enum := func(v string, values []string) string {
		if slices.Contains(values, v) {
			return v
		}
		return overflow
	}
	if s.admin {
		return series{admin: true, values: [5]string{overflow, overflow, overflow, enum(s.values[3], outcomeValues)}}
	}
	return series{values: [5]string{overflow, overflow, enum(s.values[2], verdictValues), enum(s.values[3], verdictValues), enum(s.values[4], rolloutValues)}}
}

// send hands every series' cumulative count to the metrics pipeline; a
// failed send is made good by the next one (the counts are cumulative).
func (c *decisionMetrics) send(ctx context.Context) {
	md := c.metrics(pcommon.NewTimestampFromTime(time.Now()))
	if md.DataPointCount() == 0 {
		return
	}
	if err := c.next.ConsumeMetrics(ctx, md); err != nil {
		c.logger.Warn("Sending the decision metrics failed; the next send carries the same counts", zap.Error(err))
	}
}

// metrics are the counts as two cumulative monotonic sums, series sorted.
func (c *decisionMetrics) metrics(now pcommon.Timestamp) pmetric.Metrics {
	c.mu.Lock()
	keys := make([]series, 0, len(c.counts))
	for s := range c.counts {
		keys = append(keys, s)
	}
	counts := make(map[series]int64, len(keys))
	for _, s := range keys {
		counts[s] = c.counts[s]
	}
	c.mu.Unlock()
	slices.SortFunc(keys, func(a, b series) int {
		if a.admin != b.admin {
			if a.admin {
				return 1
			}
			return -1
		}
		return slices.Compare(a.values[:], b.values[:])
	})

	md := pmetric.NewMetrics()
	if len(keys) == 0 {
		return md
	}
	sm := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty()
	sm.Scope().SetName(metadata.ScopeName)
	var decisions, admin pmetric.NumberDataPointSlice
	sum := func(name, desc, unit string) pmetric.NumberDataPointSlice {
		m := sm.Metrics().AppendEmpty()
		m.SetName(name)
		m.SetDescription(desc)
		m.SetUnit(unit)
		s := m.SetEmptySum()
		s.SetIsMonotonic(true)
		s.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
		return s.DataPoints()
	}
	for _, s := range keys {
		labels := DecisionLabels
		points := &decisions
		if s.admin {
			labels, points = AdminLabels, &admin
		}
		if *points == (pmetric.NumberDataPointSlice{}) {
			if s.admin {
				*points = sum(MetricAdminEvents, "Admin events by action, resource type, the policy they concern and outcome.", "{events}")
			} else {
				*points = sum(MetricDecisions, "Policy decisions by policy, policy version, verdict, effective verdict and rollout mode.", "{decisions}")
			}
		}
		dp := points.AppendEmpty()
		dp.SetStartTimestamp(c.start)
		dp.SetTimestamp(now)
		dp.SetIntValue(counts[s])
		for i, l := range labels {
			dp.Attributes().PutStr(l, s.values[i])
		}
	}
	return md
}
