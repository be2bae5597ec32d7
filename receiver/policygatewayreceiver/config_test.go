// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package policygatewayreceiver

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/confmap/xconfmap"

	"github.com/policyaudit/policyaudit/receiver/policygatewayreceiver/internal/metadata"
)

func loadConfig(t *testing.T, name string) *Config {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	sub, err := cm.Sub(component.NewIDWithName(metadata.Type, name).String())
	require.NoError(t, err)
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	require.NoError(t, sub.Unmarshal(cfg))
	return cfg
}

func TestLoadConfig(t *testing.T) {
	def := loadConfig(t, "")
	assert.Equal(t, createDefaultConfig(), def)
	require.NoError(t, xconfmap.Validate(def))

	cfg := loadConfig(t, "full")
	require.NoError(t, xconfmap.Validate(cfg))
	assert.Equal(t, "0.0.0.0:4320", cfg.Endpoint)
	require.True(t, cfg.TLS.HasValue())
	assert.Equal(t, "/etc/policyaudit/tls/server.crt", cfg.TLS.Get().CertFile)
	assert.Equal(t, "/etc/policyaudit/tls/server.key", cfg.TLS.Get().KeyFile)
	require.True(t, cfg.Auth.HasValue())
	assert.Equal(t, component.MustNewID("bearertokenauth"), cfg.Auth.Get().AuthenticatorID)
	assert.Equal(t, int64(1<<20), cfg.MaxRequestBodySize)
	assert.Equal(t, 5*time.Second, cfg.ReadHeaderTimeout)
	assert.Equal(t, 15*time.Second, cfg.ReadTimeout)
	assert.Equal(t, createDefaultConfig().IdleTimeout, cfg.IdleTimeout, "a key not given keeps its default")
	assert.Equal(t, 500, cfg.MaxRecordsPerRequest)
	assert.Equal(t, 16, cfg.MaxNestingDepth)
	assert.Equal(t, 8192, cfg.MaxStringLength)
	assert.Equal(t, int64(16<<20), cfg.MaxInFlightBytes)
	assert.Equal(t, 10*time.Second, cfg.RetryAfter)
}

func TestValidateNamesEveryBadKey(t *testing.T) {
	err := xconfmap.Validate(loadConfig(t, "bad"))
	require.Error(t, err)
	for _, want := range []string{
		"endpoint: must not be empty",
		"max_records_per_request: must be positive",
		"max_nesting_depth: must be at least 2",
		"max_string_length: must be positive",
		// 10 times the default max_request_body_size (6 MiB).
		"max_in_flight_bytes: must be at least 62914560",
		"retry_after: must be at least 1s",
	} {
		assert.ErrorContains(t, err, want)
	}
}
