// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package parquetencodingextension

import (
	"fmt"
	"slices"
	"strings"
)

// Config of the parquet_encoding extension.
type Config struct {
	// Compression is the Parquet codec of every column: zstd (default),
	// snappy, gzip or none. Amazon Security Lake reads all of them.
	Compression string `mapstructure:"compression"`
	_           struct{}
}

var compressions = []string{"zstd", "snappy", "gzip", "none"}

// Validate names a compression that is not one of the codecs.
func (c *Config) Validate() error {
	if !slices.Contains(compressions, c.Compression) {
		return fmt.Errorf("compression: %q is not one of %s", c.Compression, strings.Join(compressions, ", "))
	}
	return nil
}
