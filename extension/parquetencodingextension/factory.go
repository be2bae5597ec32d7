// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package parquetencodingextension

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension"

	"github.com/policyaudit/policyaudit/extension/parquetencodingextension/internal/metadata"
)

// NewFactory returns the factory of the parquet_encoding extension.
func NewFactory() extension.Factory {
	return extension.NewFactory(metadata.Type, createDefaultConfig, createExtension, metadata.ExtensionStability)
}

func createDefaultConfig() component.Config {
	return &Config{Compression: "zstd"}
}

func createExtension(_ context.Context, _ extension.Settings, cfg component.Config) (extension.Extension, error) {
	return newParquetEncoding(cfg.(*Config)), nil
}
