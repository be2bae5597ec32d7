package s3archiveexporter

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/confmap/xconfmap"

	"github.com/policyaudit/policyaudit/exporter/s3archiveexporter/internal/metadata"
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
	def := loadConfig(t, "")
	require.NoError(t, xconfmap.Validate(def))
	assert.Equal(t, "policy-audit", def.AWSS3.S3Uploader.S3Bucket)
	assert.Equal(t, "us-east-1", def.AWSS3.S3Uploader.Region, "awss3's own defaults stay")

	cfg := loadConfig(t, "partitioned")
	require.NoError(t, xconfmap.Validate(cfg))
	assert.Equal(t, 2*time.Minute, cfg.Timeout)
	assert.Equal(t, int64(100000), cfg.QueueConfig.QueueSize)
	assert.Equal(t, time.Minute, cfg.RetryConfig.MaxInterval)
	assert.Equal(t, time.Duration(0), cfg.RetryConfig.MaxElapsedTime)
	assert.Equal(t, "policyaudit.s3_prefix", cfg.AWSS3.ResourceAttrsToS3.S3Prefix)
	assert.Equal(t, "jsonl_encoding", cfg.AWSS3.Encoding.String())

	err := xconfmap.Validate(loadConfig(t, "bad"))
	assert.ErrorContains(t, err, "awss3.sending_queue")
	assert.ErrorContains(t, err, "bucket", "awss3's own validation runs too")
}
