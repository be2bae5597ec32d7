// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package datadoglogsexporter

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/confmap/xconfmap"

	"github.com/policyaudit/policyaudit/exporter/datadoglogsexporter/internal/metadata"
)

func loadConfig(t *testing.T, name string) (*Config, error) {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	sub, err := cm.Sub(component.NewIDWithName(metadata.Type, name).String())
	require.NoError(t, err)
	cfg := createDefaultConfig()
	return cfg, sub.Unmarshal(cfg)
}

func TestLoadConfig(t *testing.T) {
	cfg, err := loadConfig(t, "")
	require.NoError(t, err)
	require.NoError(t, xconfmap.Validate(cfg))
	assert.Equal(t, "https://http-intake.logs.datadoghq.com/api/v2/logs", cfg.intakeURL())
	assert.Equal(t, time.Duration(0), cfg.RetryConfig.MaxElapsedTime, "retried without a time limit")

	cfg, err = loadConfig(t, "eu")
	require.NoError(t, err)
	require.NoError(t, xconfmap.Validate(cfg))
	assert.Equal(t, "https://http-intake.logs.datadoghq.eu/api/v2/logs", cfg.intakeURL())
	assert.Equal(t, "sidecar-0", cfg.Hostname)
	assert.Equal(t, 10*time.Second, cfg.Timeout)
	assert.True(t, cfg.QueueConfig.Enabled)

	cfg, err = loadConfig(t, "peer")
	require.NoError(t, err)
	assert.Equal(t, "http://127.0.0.1:8126/api/v2/logs", cfg.intakeURL())

	cfg, err = loadConfig(t, "no_key")
	require.NoError(t, err)
	assert.ErrorContains(t, xconfmap.Validate(cfg), "api_key: must be set")

	_, err = loadConfig(t, "typo")
	assert.ErrorContains(t, err, "api_kee")
}
