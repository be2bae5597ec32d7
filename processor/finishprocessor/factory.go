// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package finishprocessor

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/processor"

	"github.com/policyaudit/policyaudit/processor/finishprocessor/internal/metadata"
)

// NewFactory returns the factory of the finish processor.
func NewFactory() processor.Factory {
	return processor.NewFactory(metadata.Type, func() component.Config { return createDefaultConfig() },
		processor.WithLogs(createLogs, metadata.LogsStability))
}

func createLogs(_ context.Context, _ processor.Settings, cfg component.Config, next consumer.Logs) (processor.Logs, error) {
	return &finishProcessor{grace: cfg.(*Config).Grace, next: next}, nil
}
