// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package policygatewayreceiver

import (
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/config/confighttp"
)

// Config of the policygateway receiver.
type Config struct {
	// ServerConfig is a standard confighttp server: endpoint, TLS, auth,
	// max_request_body_size (413 above it, after decompression), timeouts.
	confighttp.ServerConfig `mapstructure:",squash"`

	// MaxRecordsPerRequest refuses larger requests with a 413.
	MaxRecordsPerRequest int `mapstructure:"max_records_per_request"`
	// MaxNestingDepth bounds objects and arrays inside one record.
	MaxNestingDepth int `mapstructure:"max_nesting_depth"`
	// MaxStringLength bounds one string of a record, in bytes.
	MaxStringLength int `mapstructure:"max_string_length"`
	// MaxInFlightBytes caps the memory requests hold across all connections
	// at once: each reserves its body (after decompression) as it is read,
	// and decodeFactor times its body before it is decoded. Past the cap the
	// receiver answers 503 with Retry-After instead of reading further.
	MaxInFlightBytes int64 `mapstructure:"max_in_flight_bytes"`
	// RetryAfter is sent with a 503 when the pipeline refuses data
	// (memory_limiter, a full sending queue, max_in_flight_bytes).
	RetryAfter time.Duration `mapstructure:"retry_after"`

	// prevent unkeyed literal initialization
	_ struct{}
}

func createDefaultConfig() *Config {
	server := confighttp.NewDefaultServerConfig()
	server.Endpoint = "localhost:4320"
	// Slow clients: headers within 10 s, the whole body within 30 s.
	server.ReadHeaderTimeout = 10 * time.Second
	server.ReadTimeout = 30 * time.Second
	// 10,000 records of a few hundred bytes; with max_in_flight_bytes, the
	// memory a burst of requests can take (see budget.go).
	server.MaxRequestBodySize = 6 << 20
	return &Config{
		ServerConfig:         server,
		MaxRecordsPerRequest: 10000,
		MaxNestingDepth:      32,
		MaxStringLength:      64 << 10,
		MaxInFlightBytes:     64 << 20,
		RetryAfter:           5 * time.Second,
	}
}

// Validate fails fast at startup, naming the key at fault.
func (c *Config) Validate() error {
	var errs []error
	if c.Endpoint == "" {
		errs = append(errs, errors.New("endpoint: must not be empty"))
	}
	if c.MaxRecordsPerRequest <= 0 {
		errs = append(errs, errors.New("max_records_per_request: must be positive"))
	}
	if c.MaxNestingDepth < 2 {
		errs = append(errs, errors.New("max_nesting_depth: must be at least 2 (a record holds lists)"))
	}
	if c.MaxStringLength <= 0 {
		errs = append(errs, errors.New("max_string_length: must be positive"))
	}
	if need := (decodeFactor + 2) * c.MaxRequestBodySize; c.MaxInFlightBytes <= 0 || c.MaxInFlightBytes < need {
		errs = append(errs, fmt.Errorf("max_in_flight_bytes: must be at least %d (%d times max_request_body_size: the body read, and its records decoded)", need, decodeFactor+2))
	}
	if c.RetryAfter < time.Second {
		errs = append(errs, errors.New("retry_after: must be at least 1s (Retry-After counts whole seconds)"))
	}
	return errors.Join(errs...)
}
