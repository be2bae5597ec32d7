// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package auditstoreexporter

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/confmap/xconfmap"

	"github.com/policyaudit/policyaudit/exporter/auditstoreexporter/internal/metadata"
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
	assert.Equal(t, createDefaultConfig(), cfg)
	assert.Equal(t, "auditstore", cfg.Store.String(), "the extension's default ID")

	cfg, err = loadConfig(t, "fleet")
	require.NoError(t, err)
	require.NoError(t, xconfmap.Validate(cfg))
	assert.Equal(t, "auditstore/shared", cfg.Store.String())
	assert.True(t, cfg.QueueConfig.Enabled)

	_, err = loadConfig(t, "typo")
	assert.ErrorContains(t, err, "stor")
}
