package auditstoreexporter

import (
	"errors"
	"time"

	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
)

// Config of the auditstore exporter.
type Config struct {
	// Path of the SQLite database file (created if absent).
	Path string `mapstructure:"path"`
	// RetentionDays keeps records this many days after they were stored;
	// 0 keeps them forever.
	RetentionDays int `mapstructure:"retention_days"`
	// RetentionInterval is how often retention runs (it also runs at start).
	RetentionInterval time.Duration `mapstructure:"retention_interval"`
	// Query is the read-only query API's HTTP server (auth and TLS as on any
	// confighttp server).
	Query confighttp.ServerConfig `mapstructure:"query"`
	// MaxQueryLimit caps the limit parameter of queries.
	MaxQueryLimit int `mapstructure:"max_query_limit"`

	TimeoutConfig exporterhelper.TimeoutConfig    `mapstructure:",squash"`
	QueueConfig   exporterhelper.QueueBatchConfig `mapstructure:"sending_queue"`
	RetryConfig   configretry.BackOffConfig       `mapstructure:"retry_on_failure"`

	// prevent unkeyed literal initialization
	_ struct{}
}

func createDefaultConfig() *Config {
	query := confighttp.NewDefaultServerConfig()
	query.Endpoint = "127.0.0.1:4321"
	query.ReadHeaderTimeout = 10 * time.Second
	retry := configretry.NewDefaultBackOffConfig()
	// An audit trail does not give up: retry until the disk is back.
	retry.MaxElapsedTime = 0
	return &Config{
		Path:              "./data/audit.db",
		RetentionDays:     30,
		RetentionInterval: time.Hour,
		Query:             query,
		MaxQueryLimit:     1000,
		TimeoutConfig:     exporterhelper.NewDefaultTimeoutConfig(),
		QueueConfig:       exporterhelper.NewDefaultQueueConfig(),
		RetryConfig:       retry,
	}
}

// Validate fails fast at startup, naming the key at fault.
func (c *Config) Validate() error {
	var errs []error
	if c.Path == "" {
		errs = append(errs, errors.New("path: must not be empty"))
	}
	if c.RetentionDays < 0 {
		errs = append(errs, errors.New("retention_days: must be 0 (keep forever) or more"))
	}
	if c.RetentionDays > 0 && c.RetentionInterval < time.Minute {
		errs = append(errs, errors.New("retention_interval: must be at least 1m"))
	}
	if c.Query.Endpoint == "" {
		errs = append(errs, errors.New("query.endpoint: must not be empty"))
	}
	if c.MaxQueryLimit <= 0 {
		errs = append(errs, errors.New("max_query_limit: must be positive"))
	}
	return errors.Join(errs...)
}
