// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package jsonlencodingextension

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension"

	"github.com/policyaudit/policyaudit/extension/jsonlencodingextension/internal/metadata"
)

// NewFactory returns the factory of the jsonl_encoding extension.
func NewFactory() extension.Factory {
	return extension.NewFactory(metadata.Type, createDefaultConfig, createExtension, metadata.ExtensionStability)
}

func createDefaultConfig() component.Config {
	return &Config{}
}

func createExtension(context.Context, extension.Settings, component.Config) (extension.Extension, error) {
	return &jsonlEncoding{}, nil
}
