// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package kongauditreceiver

import (
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configopaque"
)

// Config of the kongaudit receiver.
type Config struct {
	// The Admin API's base URL (endpoint), TLS and timeout.
	confighttp.ClientConfig `mapstructure:",squash"`
	// AdminToken is sent as Kong-Admin-Token (RBAC).
	AdminToken configopaque.String `mapstructure:"admin_token"`
	// Workspace, when set, prefixes the paths (/<workspace>/audit/...).
	Workspace string `mapstructure:"workspace"`
	// PollInterval between two reads of the audit log.
	PollInterval time.Duration `mapstructure:"poll_interval"`
	// PageSize asks the Admin API for this many entries a page (1 to 1000).
	PageSize int `mapstructure:"page_size"`
	// Storage is the storage extension that keeps the receiver's position,
	// so a restart neither repeats nor skips entries. Without it the
	// position lives in memory and a restart reads the whole log again.
	Storage *component.ID `mapstructure:"storage"`

	// MaxPageBodySize bounds the body of one page of the Admin API, in
	// bytes: a larger page is refused, not read on.
	MaxPageBodySize int64 `mapstructure:"max_page_body_size"`
	// MaxNestingDepth bounds objects and arrays inside one entry of a page.
	MaxNestingDepth int `mapstructure:"max_nesting_depth"`
	// MaxStringLength bounds one string of a page, in bytes.
	MaxStringLength int `mapstructure:"max_string_length"`

	_ struct{}
}

var _ component.Config = (*Config)(nil)

// Validate fails fast, naming the key at fault.
func (c *Config) Validate() error {
	var errs []error
	if c.Endpoint == "" {
		errs = append(errs, errors.New("endpoint: the Kong Admin API URL is required"))
	}
	if c.PollInterval <= 0 {
		errs = append(errs, fmt.Errorf("poll_interval: must be positive, got %s", c.PollInterval))
	}
	if c.PageSize < 1 || c.PageSize > 1000 {
		errs = append(errs, fmt.Errorf("page_size: must be 1 to 1000, got %d", c.PageSize))
	}
	if c.MaxPageBodySize <= 0 {
		errs = append(errs, fmt.Errorf("max_page_body_size: must be positive, got %d", c.MaxPageBodySize))
	}
	if c.MaxNestingDepth < 1 {
		errs = append(errs, fmt.Errorf("max_nesting_depth: must be at least 1, got %d", c.MaxNestingDepth))
	}
	if c.MaxStringLength <= 0 {
		errs = append(errs, fmt.Errorf("max_string_length: must be positive, got %d", c.MaxStringLength))
	}
	return errors.Join(errs...)
}
