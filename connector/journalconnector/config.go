// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package journalconnector

import (
	"errors"
	"fmt"
	"os"
	"time"
)

// Config of the journal connector.
type Config struct {
	// Directory holds the journal's segments and one cursor per pipeline.
	Directory string `mapstructure:"directory"`
	// CreateDirectory creates Directory at start.
	CreateDirectory bool `mapstructure:"create_directory"`
	// Fsync syncs each write before the request is acknowledged (one sync
	// serves every request written while the previous one ran). Off, a
	// power cut can lose what was acknowledged; a killed process cannot.
	Fsync bool `mapstructure:"fsync"`
	// MaxBytes bounds the journal on disk: past it a request is refused
	// with a retryable error (the receiver's 503) until the slowest
	// pipeline has taken enough.
	MaxBytes int64 `mapstructure:"max_bytes"`
	// SegmentBytes is the size at which a segment is closed and a new one
	// begun; a segment is removed once every pipeline is past it.
	SegmentBytes int64 `mapstructure:"segment_bytes"`
	// Batch bounds what a pipeline is given at once.
	Batch BatchConfig `mapstructure:"batch"`
	// Retry paces a pipeline's retries of a batch it failed to take; there
	// is no time limit.
	Retry RetryConfig `mapstructure:"retry"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// BatchConfig bounds a delivery to one pipeline.
type BatchConfig struct {
	// MaxRecords is the most records given to a pipeline at once.
	MaxRecords int `mapstructure:"max_records"`
	// MaxBytes is the most journal bytes (encoded requests) read for one
	// delivery: what a pipeline holds in memory while it retries is a
	// few times this, decoded.
	MaxBytes int `mapstructure:"max_bytes"`
	// MinBytes and FlushTimeout let journal bytes gather before a delivery:
	// a pipeline waits until MinBytes are there or the oldest of them has
	// waited FlushTimeout (fewer, larger objects and requests at low rates).
	// Zero delivers what is there at once.
	MinBytes     int           `mapstructure:"min_bytes"`
	FlushTimeout time.Duration `mapstructure:"flush_timeout"`
}

// RetryConfig paces retries: the wait doubles from InitialInterval up to MaxInterval.
type RetryConfig struct {
	InitialInterval time.Duration `mapstructure:"initial_interval"`
	MaxInterval     time.Duration `mapstructure:"max_interval"`
}

func createDefaultConfig() *Config {
	return &Config{
		Directory:    "/var/lib/otelcol/journal",
		Fsync:        true,
		MaxBytes:     1 << 30,
		SegmentBytes: 16 << 20,
		Batch:        BatchConfig{MaxRecords: 10000, MaxBytes: 4 << 20},
		Retry:        RetryConfig{InitialInterval: 500 * time.Millisecond, MaxInterval: 30 * time.Second},
	}
}

// Validate fails fast at startup, naming the key at fault.
func (c *Config) Validate() error {
	var errs []error
	if c.Directory == "" {
		errs = append(errs, errors.New("directory: must be set"))
	} else if !c.CreateDirectory {
		if fi, err := os.Stat(c.Directory); err != nil || !fi.IsDir() {
			errs = append(errs, fmt.Errorf("directory: %q is not a directory (set create_directory to create it)", c.Directory))
		}
	}
	if c.SegmentBytes < 1<<16 {
		errs = append(errs, errors.New("segment_bytes: must be at least 65536"))
	}
	if c.MaxBytes < 2*c.SegmentBytes {
		errs = append(errs, errors.New("max_bytes: must be at least twice segment_bytes"))
	}
	if c.Batch.MaxRecords < 1 {
		errs = append(errs, errors.New("batch.max_records: must be positive"))
	}
	if c.Batch.MaxBytes < 1 {
		errs = append(errs, errors.New("batch.max_bytes: must be positive"))
	}
	if c.Batch.MinBytes < 0 || c.Batch.MinBytes > c.Batch.MaxBytes {
		errs = append(errs, errors.New("batch.min_bytes: must be between 0 and batch.max_bytes"))
	}
	if c.Batch.FlushTimeout < 0 {
		errs = append(errs, errors.New("batch.flush_timeout: must not be negative"))
	}
	if c.Retry.InitialInterval <= 0 {
		errs = append(errs, errors.New("retry.initial_interval: must be positive"))
	}
	if c.Retry.MaxInterval < c.Retry.InitialInterval {
		errs = append(errs, errors.New("retry.max_interval: must be at least retry.initial_interval"))
	}
	return errors.Join(errs...)
}
