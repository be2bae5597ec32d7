// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package durableexporter

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/awss3exporter"
	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/elasticsearchexporter"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/confmap/xconfmap"

	"github.com/policyaudit/policyaudit/exporter/durableexporter/internal/metadata"
)

func loadConfig(t *testing.T, name string) *Config {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	sub, err := cm.Sub(component.NewIDWithName(metadata.Type, name).String())
	require.NoError(t, err)
	cfg := createDefaultConfig()
	require.NoError(t, sub.Unmarshal(cfg))
	return cfg
}

func TestLoadConfig(t *testing.T) {
	cfg := loadConfig(t, "s3")
	require.NoError(t, xconfmap.Validate(cfg))
	assert.Equal(t, 3*time.Minute, cfg.Timeout)
	assert.Equal(t, int64(100000), cfg.QueueConfig.QueueSize)
	assert.Equal(t, time.Minute, cfg.RetryConfig.MaxInterval)
	assert.Equal(t, time.Duration(0), cfg.RetryConfig.MaxElapsedTime, "no time limit by default")
	inner, err := cfg.innerConfig()
	require.NoError(t, err)
	s3 := inner.(*awss3exporter.Config)
	assert.Equal(t, "policyaudit.s3_prefix", s3.ResourceAttrsToS3.S3Prefix)
	assert.Equal(t, "us-east-1", awss3exporter.NewFactory().CreateDefaultConfig().(*awss3exporter.Config).S3Uploader.Region)
	assert.Equal(t, "eu-west-1", s3.S3Uploader.Region)
	assert.False(t, s3.QueueSettings.Enabled)
	assert.Equal(t, 5*time.Second, awss3exporter.NewFactory().CreateDefaultConfig().(*awss3exporter.Config).TimeoutSettings.Timeout)
	assert.Zero(t, s3.TimeoutSettings.Timeout, "awss3's own 5 s timeout is off: durable's timeout bounds each attempt")

	es := loadConfig(t, "elasticsearch")
	require.NoError(t, xconfmap.Validate(es))
	inner, err = es.innerConfig()
	require.NoError(t, err)
	assert.False(t, inner.(*elasticsearchexporter.Config).QueueBatchConfig.Enabled, "elasticsearch's own queue (on by default) is turned off")
}

func TestValidateNamesTheKey(t *testing.T) {
	for name, want := range map[string]string{
		"unknown": `exporter: "kafka" is not one of awss3, elasticsearch`,
		"queued":  "settings.sending_queue: set the queue on durable's own sending_queue",
		"typo":    "settings: ",
		"invalid": "settings: ",
	} {
		assert.ErrorContains(t, xconfmap.Validate(loadConfig(t, name)), want, name)
	}
	assert.ErrorContains(t, xconfmap.Validate(loadConfig(t, "typo")), "mod")
}
