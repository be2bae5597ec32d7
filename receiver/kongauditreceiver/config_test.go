// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package kongauditreceiver

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/confmap/xconfmap"

	"github.com/policyaudit/policyaudit/receiver/kongauditreceiver/internal/metadata"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	load := func(name string) *Config {
		sub, err := cm.Sub(component.NewIDWithName(metadata.Type, name).String())
		require.NoError(t, err)
		cfg := createDefaultConfig().(*Config)
		require.NoError(t, sub.Unmarshal(cfg))
		return cfg
	}

	def := load("")
	require.NoError(t, xconfmap.Validate(def))
	assert.Equal(t, time.Minute, def.PollInterval)
	assert.Equal(t, 100, def.PageSize)
	assert.Nil(t, def.Storage)
	assert.Equal(t, int64(64<<20), def.MaxPageBodySize)
	assert.Equal(t, 32, def.MaxNestingDepth, "the limits of every other input (jsonbody.DefaultLimits)")
	assert.Equal(t, 64<<10, def.MaxStringLength)

	ws := load("workspace")
	require.NoError(t, xconfmap.Validate(ws))
	assert.Equal(t, "payments", ws.Workspace)
	assert.Equal(t, 500, ws.PageSize)
	assert.Equal(t, 30*time.Second, ws.PollInterval)
	require.NotNil(t, ws.Storage)
	assert.Equal(t, "file_storage/kongaudit", ws.Storage.String())
	assert.Equal(t, int64(16<<20), ws.MaxPageBodySize)
	assert.Equal(t, 16, ws.MaxNestingDepth)
	assert.Equal(t, 256<<10, ws.MaxStringLength)

	err = xconfmap.Validate(load("bad"))
	require.Error(t, err)
	for _, key := range []string{"endpoint", "poll_interval", "page_size", "max_page_body_size", "max_nesting_depth", "max_string_length"} {
		assert.Contains(t, err.Error(), key+":")
	}
}
