// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package queuestorageextension

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/confmap/xconfmap"

	"github.com/policyaudit/policyaudit/extension/queuestorageextension/internal/metadata"
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
	assert.Equal(t, createDefaultConfig(), def)
	assert.True(t, def.FSync, "durable unless turned off")

	custom := load("custom")
	require.NoError(t, xconfmap.Validate(custom))
	assert.Equal(t, &Config{Directory: "/var/lib/policyaudit/queue", CreateDirectory: true, InlineLimit: 65536, Timeout: 5 * time.Second}, custom)

	assert.ErrorContains(t, xconfmap.Validate(load("no_directory")), "directory:")
	assert.ErrorContains(t, xconfmap.Validate(load("negative_limit")), "inline_limit:")

	missing := &Config{Directory: filepath.Join(t.TempDir(), "absent")}
	assert.ErrorContains(t, missing.Validate(), "create_directory")
}
