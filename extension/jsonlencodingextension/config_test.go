// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package jsonlencodingextension

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/confmap/xconfmap"

	"github.com/policyaudit/policyaudit/extension/jsonlencodingextension/internal/metadata"
)

func unmarshalConfig(t *testing.T, name string) (component.Config, error) {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	sub, err := cm.Sub(component.NewIDWithName(metadata.Type, name).String())
	require.NoError(t, err)
	cfg := NewFactory().CreateDefaultConfig()
	return cfg, sub.Unmarshal(cfg)
}

// The extension has no settings, so there is no full entry to check field
// by field: the default entry is the default config, and any key is an
// error that names it (a line is a body, nothing to choose).
func TestLoadConfig(t *testing.T) {
	def, err := unmarshalConfig(t, "")
	require.NoError(t, err)
	assert.Equal(t, createDefaultConfig(), def)
	assert.NoError(t, xconfmap.Validate(def))

	_, err = unmarshalConfig(t, "bad")
	require.Error(t, err)
	assert.ErrorContains(t, err, "has invalid keys: array_mode, mode")
}
