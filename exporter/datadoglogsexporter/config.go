// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package datadoglogsexporter

import (
	"errors"
	"strings"
	"time"

	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
)

// Config of the datadog_logs exporter.
type Config struct {
	// ClientConfig's endpoint is the intake's base URL (default: the
	// site's, https://http-intake.logs.<site>); timeout and TLS as on any
	// confighttp client.
	confighttp.ClientConfig `mapstructure:",squash"`
	// Site is the Datadog site (datadoghq.com, datadoghq.eu, us3.datadoghq.com, …).
	Site string `mapstructure:"site"`
	// APIKey is sent as DD-API-KEY.
	APIKey configopaque.String `mapstructure:"api_key"`
	// Hostname is each log's hostname (default: this host's name).
	Hostname string `mapstructure:"hostname"`

	QueueConfig exporterhelper.QueueBatchConfig `mapstructure:"sending_queue"`
	RetryConfig configretry.BackOffConfig       `mapstructure:"retry_on_failure"`

	// prevent unkeyed literal initialization
	_ struct{}
}

func createDefaultConfig() *Config {
	client := confighttp.NewDefaultClientConfig()
	client.Timeout = 30 * time.Second
	retry := configretry.NewDefaultBackOffConfig()
	retry.MaxElapsedTime = 0 // an audit trail does not give up
	return &Config{ClientConfig: client, Site: "datadoghq.com", QueueConfig: exporterhelper.NewDefaultQueueConfig(), RetryConfig: retry}
}

// Validate fails fast at startup, naming the key at fault.
func (c *Config) Validate() error {
	var errs []error
	if c.APIKey == "" {
		errs = append(errs, errors.New("api_key: must be set (DD_API_KEY)"))
	}
	if c.Endpoint == "" && c.Site == "" {
		errs = append(errs, errors.New("site or endpoint: one must be set"))
	}
	if c.Endpoint != "" && !strings.HasPrefix(c.Endpoint, "http://") && !strings.HasPrefix(c.Endpoint, "https://") {
		errs = append(errs, errors.New("endpoint: must be an http:// or https:// URL"))
	}
	return errors.Join(errs...)
}

// intakeURL is where logs are posted.
func (c *Config) intakeURL() string {
	base := c.Endpoint
	if base == "" {
		base = "https://http-intake.logs." + c.Site
	}
	return strings.TrimSuffix(base, "/") + "/api/v2/logs"
}
