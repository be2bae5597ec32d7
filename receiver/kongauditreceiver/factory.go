// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package kongauditreceiver

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver"

	"github.com/policyaudit/policyaudit/internal/jsonbody"
	"github.com/policyaudit/policyaudit/receiver/kongauditreceiver/internal/metadata"
)

// NewFactory returns the kongaudit receiver's factory.
func NewFactory() receiver.Factory {
	return receiver.NewFactory(metadata.Type, createDefaultConfig,
		receiver.WithLogs(createLogsReceiver, metadata.LogsStability))
}

func createDefaultConfig() component.Config {
	client := confighttp.NewDefaultClientConfig()
	client.Timeout = 30 * time.Second
	return &Config{
		ClientConfig: client, PollInterval: time.Minute, PageSize: 100,
		// The bound the receiver always had on a page; the entry limits
		// are the policygateway receiver's (jsonbody.DefaultLimits).
		MaxPageBodySize: 64 << 20,
		MaxNestingDepth: jsonbody.DefaultLimits.MaxDepth,
		MaxStringLength: jsonbody.DefaultLimits.MaxStringLength,
	}
}

func createLogsReceiver(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Logs) (receiver.Logs, error) {
	return newReceiver(set, cfg.(*Config), next)
}
