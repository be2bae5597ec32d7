// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package decisionmetricsconnector

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/confmap/xconfmap"

	"github.com/policyaudit/policyaudit/connector/decisionmetricsconnector/internal/metadata"
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
	assert.Equal(t, &Config{Interval: 10 * time.Second, MaxSeries: 10000}, cfg)

	cfg, err = loadConfig(t, "fast")
	require.NoError(t, err)
	require.NoError(t, xconfmap.Validate(cfg))
	assert.Equal(t, &Config{Interval: time.Second, MaxSeries: 500}, cfg)

	cfg, err = loadConfig(t, "no_interval")
	require.NoError(t, err)
	assert.ErrorContains(t, xconfmap.Validate(cfg), "interval: must be positive")

	cfg, err = loadConfig(t, "no_series")
	require.NoError(t, err)
	assert.ErrorContains(t, xconfmap.Validate(cfg), "max_series: must be at least 1")

	_, err = loadConfig(t, "typo")
	assert.ErrorContains(t, err, "max_serie")
}
