// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package durableexporter

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/awss3exporter"
	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/elasticsearchexporter"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/policyaudit/policyaudit/exporter/durableexporter/internal/metadata"
)

// wrapped are the exporters that drop what they fail to send, or what
// waited too long in a queue, and that this exporter can make durable.
var wrapped = map[string]exporter.Factory{
	"awss3":         awss3exporter.NewFactory(),
	"elasticsearch": elasticsearchexporter.NewFactory(),
}

// queueOf is the wrapped exporter's own sending queue.
func queueOf(cfg component.Config) (*exporterhelper.QueueBatchConfig, bool) {
	switch c := cfg.(type) {
	case *awss3exporter.Config:
		return &c.QueueSettings, true
	case *elasticsearchexporter.Config:
		return &c.QueueBatchConfig, true
	}
	return nil, false
}

// NewFactory returns the factory of the durable exporter.
func NewFactory() exporter.Factory {
	return exporter.NewFactory(
		metadata.Type,
		func() component.Config { return createDefaultConfig() },
		exporter.WithLogs(createLogs, metadata.LogsStability),
	)
}

func createDefaultConfig() *Config {
	retry := configretry.NewDefaultBackOffConfig()
	// An audit trail does not give up: exporterhelper's default would drop a
	// batch after five minutes of failures.
	retry.MaxElapsedTime = 0
	timeout := exporterhelper.NewDefaultTimeoutConfig()
	// Longer than elasticsearch's own flush timeout (90 s), so each attempt
	// ends with the wrapped exporter's answer.
	timeout.Timeout = 2 * time.Minute
	return &Config{
		TimeoutConfig: timeout,
		QueueConfig:   exporterhelper.NewDefaultQueueConfig(),
		RetryConfig:   retry,
	}
}

// createLogs builds the wrapped exporter without its queue, so that each
// export returns its error, and puts the collector's queue, retry and
// timeout in front of it.
func createLogs(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Logs, error) {
	c := cfg.(*Config)
	innerCfg, err := c.innerConfig()
	if err != nil {
		return nil, err
	}
	factory := wrapped[c.Exporter]
	innerSet := set
	innerSet.ID = component.NewIDWithName(factory.Type(), set.ID.String())
	innerSet.Logger = wrappedLogger(set.Logger.With(zap.String("wrapped", innerSet.ID.String())))
	inner, err := factory.CreateLogs(ctx, innerSet, innerCfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.Exporter, err)
	}
	push := func(ctx context.Context, ld plog.Logs) error {
		// A persistent queue can hand on an empty request (seen after a
		// full disk); awss3 indexes its first resource and panics on one.
		if ld.LogRecordCount() == 0 {
			return nil
		}
		return inner.ConsumeLogs(ctx, ld)
	}
	return exporterhelper.NewLogs(ctx, set, cfg, push,
		exporterhelper.WithStart(inner.Start),
		exporterhelper.WithShutdown(inner.Shutdown),
		exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}),
		exporterhelper.WithTimeout(c.TimeoutConfig),
		exporterhelper.WithQueue(c.QueueConfig),
		exporterhelper.WithRetry(c.RetryConfig),
	)
}

// rejectedMessage starts the error exporterhelper (collector core's, which
// both wrapped exporters are built on: exporter/exporterhelper/internal,
// BaseExporter.Send) logs for every export that fails when the exporter has
// no queue of its own. Wrapped, the wrapped exporter has none: each failed
// attempt would be logged as data rejected, while durable keeps the batch in
// its queue, retries it and logs the retry.
//
// The log is matched by its text because nothing else tells it apart:
//   - neither exporterhelper nor awss3 or elasticsearch has an
//     option that turns it off;
//   - the wrapped exporter writes its own errors through the same logger
//     (elasticsearch's documents refused one by one), so a higher level, or a named sub-logger set to one, would
//     hide those too, and the collector's telemetry has no per-logger level;
//   - the failure is counted already, in otelcol_exporter_send_failed_log_records
//     under the wrapped exporter's ID (<type>/durable/<name>), and durable's
//     own retry logs it: only the misleading line goes.
//
// So that a rewording in core cannot break the match silently (every failed
// attempt logged as an error again), TestRejectionLogIsStillExporterhelpers
// has the real exporterhelper of go.mod fail an export and requires this
// message from it.
const rejectedMessage = "Exporting failed. Rejecting data."

// wrappedLogger is the wrapped exporter's logger: logger without the
// rejection log.
func wrappedLogger(logger *zap.Logger) *zap.Logger {
	return logger.WithOptions(zap.WrapCore(func(core zapcore.Core) zapcore.Core { return rejectionFilter{core} }))
}

// rejectionFilter drops the entries whose message starts with
// rejectedMessage.
type rejectionFilter struct{ zapcore.Core }

func (f rejectionFilter) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if strings.HasPrefix(e.Message, rejectedMessage) {
		return ce
	}
	return f.Core.Check(e, ce)
}

func (f rejectionFilter) With(fields []zapcore.Field) zapcore.Core {
	return rejectionFilter{f.Core.With(fields)}
}
