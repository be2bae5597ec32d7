package s3archiveexporter

import (
	"errors"
	"fmt"

	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/awss3exporter"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
)

// Config of the s3archive exporter: awss3exporter's settings under awss3,
// and the collector's queue, retry and timeout around its uploads.
type Config struct {
	exporterhelper.TimeoutConfig `mapstructure:",squash"`
	QueueConfig                  exporterhelper.QueueBatchConfig `mapstructure:"sending_queue"`
	RetryConfig                  configretry.BackOffConfig       `mapstructure:"retry_on_failure"`

	// AWSS3 is awss3exporter's configuration (s3uploader, encoding,
	// resource_attrs_to_s3, ...), used as awss3 documents it, except its
	// sending_queue and timeout, which are this exporter's.
	AWSS3 awss3exporter.Config `mapstructure:"awss3"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// Validate fails fast at startup, naming the key at fault.
func (c *Config) Validate() error {
	var errs []error
	if c.AWSS3.QueueSettings.Enabled {
		errs = append(errs, errors.New("awss3.sending_queue: set the queue on s3archive's own sending_queue, which retries; awss3's would drop what fails"))
	}
	if err := c.AWSS3.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("awss3: %w", err))
	}
	return errors.Join(errs...)
}
