// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package durableexporter

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/awss3exporter"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/xconfmap"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
)

// Config of the durable exporter: which exporter it wraps, that exporter's
// own settings, and the collector's queue, retry and timeout around it.
type Config struct {
	exporterhelper.TimeoutConfig `mapstructure:",squash"`
	QueueConfig                  exporterhelper.QueueBatchConfig `mapstructure:"sending_queue"`
	RetryConfig                  configretry.BackOffConfig       `mapstructure:"retry_on_failure"`

	// Exporter is the type of the wrapped exporter: one of the keys of
	// wrapped (awss3, elasticsearch).
	Exporter string `mapstructure:"exporter"`
	// Settings are the wrapped exporter's configuration, as its README
	// documents, except its sending_queue, which must stay off: the queue
	// is this exporter's.
	Settings map[string]any `mapstructure:"settings"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// Validate fails fast at startup, naming the key at fault, including the
// wrapped exporter's own validation.
func (c *Config) Validate() error {
	if _, ok := wrapped[c.Exporter]; !ok {
		return fmt.Errorf("exporter: %q is not one of %s", c.Exporter, strings.Join(wrappedTypes(), ", "))
	}
	_, err := c.innerConfig()
	return err
}

// innerConfig is the wrapped exporter's configuration: its defaults, the
// settings over them, its own queue off.
func (c *Config) innerConfig() (component.Config, error) {
	cfg := wrapped[c.Exporter].CreateDefaultConfig()
	if err := confmap.NewFromStringMap(c.Settings).Unmarshal(cfg); err != nil {
		return nil, fmt.Errorf("settings: %w", err)
	}
	queue, ok := queueOf(cfg)
	if !ok {
		return nil, fmt.Errorf("settings: %s has no sending_queue to turn off", c.Exporter)
	}
	if queue.Enabled && c.Settings["sending_queue"] != nil {
		return nil, errors.New("settings.sending_queue: set the queue on durable's own sending_queue, which retries; the wrapped exporter's would drop what fails")
	}
	queue.Enabled = false
	// durable's own timeout bounds each attempt; awss3's (5 s by default)
	// would fail every upload that needs longer, and retry it forever.
	if s3, ok := cfg.(*awss3exporter.Config); ok && c.Settings["timeout"] == nil {
		s3.TimeoutSettings.Timeout = 0
	}
	if err := xconfmap.Validate(cfg); err != nil {
		return nil, fmt.Errorf("settings: %w", err)
	}
	return cfg, nil
}

func wrappedTypes() []string {
	types := make([]string, 0, len(wrapped))
	for t := range wrapped {
		types = append(types, t)
	}
	slices.Sort(types)
	return types
}
