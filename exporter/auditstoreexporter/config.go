// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package auditstoreexporter

import (
	"errors"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
)

// Config of the auditstore exporter.
type Config struct {
	// Store is the ID of the auditstore extension the records are appended
	// to (default: auditstore).
	Store component.ID `mapstructure:"store"`

	TimeoutConfig exporterhelper.TimeoutConfig    `mapstructure:",squash"`
	QueueConfig   exporterhelper.QueueBatchConfig `mapstructure:"sending_queue"`
	RetryConfig   configretry.BackOffConfig       `mapstructure:"retry_on_failure"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// defaultStore is the extension's default ID.
var defaultStore = component.MustNewID("auditstore")

func createDefaultConfig() *Config {
	retry := configretry.NewDefaultBackOffConfig()
	// An audit trail does not give up: retry until the store is back.
	retry.MaxElapsedTime = 0
	return &Config{
		Store:         defaultStore,
		TimeoutConfig: exporterhelper.NewDefaultTimeoutConfig(),
		QueueConfig:   exporterhelper.NewDefaultQueueConfig(),
		RetryConfig:   retry,
	}
}

// Validate fails fast at startup, naming the key at fault.
func (c *Config) Validate() error {
	if c.Store.Type().String() == "" {
		return errors.New("store: must name an auditstore extension")
	}
	return nil
}
