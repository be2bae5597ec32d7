// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package auditstoreextension

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/confmap/xconfmap"

	"github.com/policyaudit/policyaudit/extension/auditstoreextension/internal/metadata"
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
	assert.True(t, cfg.Console.Enabled, "the console is on by default")
	assert.Equal(t, "127.0.0.1:4321", cfg.Query.Endpoint)

	cfg, err = loadConfig(t, "signed")
	require.NoError(t, err)
	require.NoError(t, xconfmap.Validate(cfg))
	assert.Equal(t, "/var/lib/policyaudit/audit.db", cfg.Path)
	assert.Equal(t, 365, cfg.RetentionDays)
	assert.Equal(t, "normal", cfg.Synchronous)
	assert.Equal(t, 500, cfg.MaxQueryLimit)
	assert.Equal(t, "/etc/policyaudit/signing/key.pem", cfg.Signing.KeyFile)
	assert.Equal(t, int64(5000), cfg.Signing.EveryRecords)
	assert.Equal(t, 30*time.Second, cfg.Signing.Interval)
	assert.True(t, cfg.Signing.Required)
	assert.Equal(t, "bearertokenauth", cfg.Query.Auth.Get().AuthenticatorID.String())
	assert.False(t, cfg.Console.Enabled)

	cfg, err = loadConfig(t, "unsigned_required")
	require.NoError(t, err)
	assert.ErrorContains(t, xconfmap.Validate(cfg), "signing.key_file or signing.key: required")

	cfg, err = loadConfig(t, "fleet")
	require.NoError(t, err)
	require.NoError(t, xconfmap.Validate(cfg))
	assert.Equal(t, BackendPostgres, cfg.Backend)
	assert.Equal(t, "postgres://policyaudit@db.internal:5432/audit?sslmode=verify-full", string(cfg.Postgres.DSN))
	assert.Equal(t, "tier-0", cfg.Postgres.Chain)
	assert.Equal(t, 16, cfg.Postgres.MaxConns)
	require.True(t, cfg.Postgres.TLS.HasValue())
	assert.Equal(t, "/etc/policyaudit/postgres/ca.pem", cfg.Postgres.TLS.Get().CAFile)
	assert.Equal(t, 400, cfg.RetentionDays)

	cfg, err = loadConfig(t, "vault")
	require.NoError(t, err)
	require.NoError(t, xconfmap.Validate(cfg))
	assert.Equal(t, "vault-key-0123456789", string(cfg.Vault.Key))
	assert.Equal(t, "admin-token-0123456789", string(cfg.Admin.Token))

	cfg, err = loadConfig(t, "short_secrets")
	require.NoError(t, err)
	err = xconfmap.Validate(cfg)
	assert.ErrorContains(t, err, "vault.key: at least 16 bytes are required")
	assert.ErrorContains(t, err, "admin.token: at least 16 bytes are required")

	_, err = loadConfig(t, "typo")
	assert.ErrorContains(t, err, "consol")
}
