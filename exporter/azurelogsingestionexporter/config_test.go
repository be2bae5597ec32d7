// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package azurelogsingestionexporter

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/confmap/xconfmap"

	"github.com/policyaudit/policyaudit/exporter/azurelogsingestionexporter/internal/metadata"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	load := func(name string) *Config {
		sub, err := cm.Sub(component.NewIDWithName(metadata.Type, name).String())
		require.NoError(t, err)
		cfg := NewFactory().CreateDefaultConfig().(*Config)
		require.NoError(t, sub.Unmarshal(cfg))
		return cfg
	}

	def := load("")
	require.NoError(t, xconfmap.Validate(def))
	assert.Equal(t, "Custom-PolicyAuditDecisions", def.DecisionStream)
	assert.Equal(t, "Custom-PolicyAuditAdmin", def.AdminStream)
	assert.Equal(t, CloudPublic, def.Cloud)
	assert.Equal(t, AuthClientSecret, def.Auth.Type)
	assert.Equal(t, "s3cr3t", string(def.Auth.ClientSecret))
	assert.Zero(t, def.RetryConfig.MaxElapsedTime, "an audit trail retries without a time limit")

	managed := load("managed")
	require.NoError(t, xconfmap.Validate(managed))
	assert.Equal(t, AuthManagedIdentity, managed.Auth.Type)
	assert.Equal(t, "Custom-GatewayDecisions", managed.DecisionStream)

	err = xconfmap.Validate(load("bad"))
	require.Error(t, err)
	for _, key := range []string{"endpoint:", "rule_id:", "decision_stream:", "cloud:", "authority_host:", "auth::tenant_id:", "auth::client_id:", "auth::client_secret:"} {
		assert.Contains(t, err.Error(), key)
	}
	assert.ErrorContains(t, xconfmap.Validate(load("bad_auth")), "auth::type:")
}
