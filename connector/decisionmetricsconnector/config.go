// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package decisionmetricsconnector

import (
	"errors"
	"time"
)

// Config bounds the series the connector keeps and says how often it
// sends them.
type Config struct {
	// Interval between two sends of every series' cumulative count (and
	// one at shutdown). A Prometheus exporter forgets a series it has not
	// been sent for metric_expiration (5 minutes by default), so this stays
	// well below that.
	Interval time.Duration `mapstructure:"interval"`
	// MaxSeries bounds the distinct label sets of both metrics together;
	// records of a label set beyond it are counted in an overflow series
	// whose policy says "_overflow" (and in the overflow_records
	// telemetry).
	MaxSeries int `mapstructure:"max_series"`
	_         struct{}
}

func createDefaultConfig() *Config {
	return &Config{Interval: 10 * time.Second, MaxSeries: 10000}
}

// Validate fails fast, naming the key at fault.
func (c *Config) Validate() error {
	var errs []error
	if c.Interval <= 0 {
		errs = append(errs, errors.New("interval: must be positive"))
	}
	if c.MaxSeries < 1 {
		errs = append(errs, errors.New("max_series: must be at least 1"))
	}
	return errors.Join(errs...)
}
