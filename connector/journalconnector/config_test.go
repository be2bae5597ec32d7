// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package journalconnector

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/confmap/xconfmap"

	"github.com/policyaudit/policyaudit/connector/journalconnector/internal/metadata"
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
	assert.True(t, cfg.Fsync, "synced by default")
	assert.Equal(t, int64(1<<30), cfg.MaxBytes)

	cfg, err = loadConfig(t, "small")
	require.NoError(t, err)
	require.NoError(t, xconfmap.Validate(cfg))
	assert.False(t, cfg.Fsync)
	assert.Equal(t, int64(8<<20), cfg.SegmentBytes)
	assert.Equal(t, BatchConfig{MaxRecords: 2000, MaxBytes: 1 << 20, MinBytes: 1 << 16, FlushTimeout: 2 * time.Second}, cfg.Batch)
	assert.Equal(t, RetryConfig{InitialInterval: time.Second, MaxInterval: time.Minute}, cfg.Retry)

	cfg, err = loadConfig(t, "missing_directory")
	require.NoError(t, err)
	assert.ErrorContains(t, xconfmap.Validate(cfg), "directory:")

	cfg, err = loadConfig(t, "tiny")
	require.NoError(t, err)
	assert.ErrorContains(t, xconfmap.Validate(cfg), "max_bytes: must be at least twice segment_bytes")

	_, err = loadConfig(t, "typo")
	assert.ErrorContains(t, err, "directroy")
}
