// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package queuestorageextension

import (
	"errors"
	"fmt"
	"os"
	"time"
)

// Config is the queue_storage extension's configuration.
type Config struct {
	// Directory holds one database and one directory of value files per
	// component that asks for storage.
	Directory string `mapstructure:"directory"`
	// CreateDirectory creates Directory when it does not exist.
	CreateDirectory bool `mapstructure:"create_directory"`
	// FSync syncs every write (value files, their directory, the database)
	// before it returns, so what a queue acknowledged survives a power cut.
	FSync bool `mapstructure:"fsync"`
	// InlineLimit is the largest value, in bytes, kept in the database
	// itself; larger ones get a file.
	InlineLimit int `mapstructure:"inline_limit"`
	// Timeout is how long to wait for another process's lock on a database.
	Timeout time.Duration `mapstructure:"timeout"`
}

func createDefaultConfig() *Config {
	return &Config{
		Directory:   defaultDirectory,
		FSync:       true,
		InlineLimit: 4096,
		Timeout:     time.Second,
	}
}

// defaultDirectory is file_storage's default on Linux.
const defaultDirectory = "/var/lib/otelcol/queue"

// Validate checks the directory (unless the extension is to create it) and
// the limits.
func (cfg *Config) Validate() error {
	if cfg.Directory == "" {
		return errors.New("directory: must be set")
	}
	if cfg.InlineLimit < 0 {
		return fmt.Errorf("inline_limit: must not be negative, got %d", cfg.InlineLimit)
	}
	if cfg.Timeout < 0 {
		return fmt.Errorf("timeout: must not be negative, got %s", cfg.Timeout)
	}
	if cfg.CreateDirectory {
		return nil
	}
	info, err := os.Stat(cfg.Directory)
	switch {
	case os.IsNotExist(err):
		return fmt.Errorf("directory: %q does not exist (create_directory: true creates it)", cfg.Directory)
	case err != nil:
		return fmt.Errorf("directory: %w", err)
	case !info.IsDir():
		return fmt.Errorf("directory: %q is not a directory", cfg.Directory)
	}
	return nil
}
