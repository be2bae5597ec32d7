package s3archiveexporter

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/awss3exporter"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/policyaudit/policyaudit/exporter/s3archiveexporter/internal/metadata"
)

// NewFactory returns the factory of the s3archive exporter.
func NewFactory() exporter.Factory {
	return exporter.NewFactory(
		metadata.Type,
		func() component.Config { return createDefaultConfig() },
		exporter.WithLogs(createLogs, metadata.LogsStability),
	)
}

func createDefaultConfig() *Config {
	retry := configretry.NewDefaultBackOffConfig()
	// An archive does not give up: exporterhelper's default would drop a
	// batch after five minutes of failures.
	retry.MaxElapsedTime = 0
	timeout := exporterhelper.NewDefaultTimeoutConfig()
	timeout.Timeout = 60 * time.Second
	return &Config{
		TimeoutConfig: timeout,
		QueueConfig:   exporterhelper.NewDefaultQueueConfig(),
		RetryConfig:   retry,
		AWSS3:         *awss3exporter.NewFactory().CreateDefaultConfig().(*awss3exporter.Config),
	}
}

// createLogs builds awss3exporter without its queue, so that each upload
// returns its error, and puts the collector's queue, retry and timeout in
// front of it.
func createLogs(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Logs, error) {
	c := cfg.(*Config)
	uploaderCfg := c.AWSS3
	uploaderCfg.QueueSettings.Enabled = false
	uploaderCfg.TimeoutSettings.Timeout = 0 // this exporter's timeout applies

	s3Factory := awss3exporter.NewFactory()
	uploaderSet := set
	uploaderSet.ID = component.NewIDWithName(s3Factory.Type(), set.ID.String())
	uploaderSet.Logger = set.Logger.WithOptions(zap.WrapCore(func(core zapcore.Core) zapcore.Core {
		return rejectionFilter{core}
	}))
	uploader, err := s3Factory.CreateLogs(ctx, uploaderSet, &uploaderCfg)
	if err != nil {
		return nil, fmt.Errorf("awss3: %w", err)
	}
	return exporterhelper.NewLogs(ctx, set, cfg, uploader.ConsumeLogs,
		exporterhelper.WithStart(uploader.Start),
		exporterhelper.WithShutdown(uploader.Shutdown),
		exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}),
		exporterhelper.WithTimeout(c.TimeoutConfig),
		exporterhelper.WithQueue(c.QueueConfig),
		exporterhelper.WithRetry(c.RetryConfig),
	)
}

// rejectionFilter drops the inner awss3 exporter's "Exporting failed.
// Rejecting data." error: without its own queue it reports every failed
// upload that way, while this exporter keeps the data and retries (and logs
// the retry itself).
type rejectionFilter struct{ zapcore.Core }

func (f rejectionFilter) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if strings.HasPrefix(e.Message, "Exporting failed. Rejecting data.") {
		return ce
	}
	return f.Core.Check(e, ce)
}

func (f rejectionFilter) With(fields []zapcore.Field) zapcore.Core {
	return rejectionFilter{f.Core.With(fields)}
}
