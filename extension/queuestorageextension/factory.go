// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package queuestorageextension

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension"

	"github.com/policyaudit/policyaudit/extension/queuestorageextension/internal/metadata"
)

// NewFactory returns the factory of the queue_storage extension.
func NewFactory() extension.Factory {
	return extension.NewFactory(metadata.Type, func() component.Config { return createDefaultConfig() }, createExtension, metadata.ExtensionStability)
}

func createExtension(_ context.Context, _ extension.Settings, cfg component.Config) (extension.Extension, error) {
	return newQueueStorage(cfg.(*Config)), nil
}
