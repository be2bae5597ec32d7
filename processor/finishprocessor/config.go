// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package finishprocessor

import (
	"errors"
	"time"
)

// Config of the finish processor.
type Config struct {
	// Grace is how long the pipeline may go on with a batch after the
	// caller stopped waiting: shorter than the Kafka consumer group's
	// rebalance timeout (franz-go's default, 60 s), which a partition's
	// revocation waits for.
	Grace time.Duration `mapstructure:"grace"`

	// prevent unkeyed literal initialization
	_ struct{}
}

func createDefaultConfig() *Config {
	return &Config{Grace: 45 * time.Second}
}

// Validate fails fast at startup, naming the key at fault.
func (c *Config) Validate() error {
	if c.Grace <= 0 {
		return errors.New("grace: must be positive")
	}
	return nil
}
