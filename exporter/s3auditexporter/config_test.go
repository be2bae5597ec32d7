// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package s3auditexporter

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/confmap/xconfmap"

	"github.com/policyaudit/policyaudit/exporter/s3auditexporter/internal/metadata"
	"github.com/policyaudit/policyaudit/internal/signing"
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
	assert.Equal(t, createDefaultConfig(), loadConfig(t, ""))

	cfg := loadConfig(t, "full")
	require.NoError(t, xconfmap.Validate(cfg))
	assert.Equal(t, "policy-audit", cfg.Bucket)
	assert.Equal(t, "eu-west-1", cfg.Region)
	assert.True(t, cfg.ForcePathStyle)
	store := auditStoreClient()
	store.Endpoint = "http://127.0.0.1:4321"
	assert.Equal(t, DigestConfig{Prefix: "policy-audit/_digest", Interval: time.Minute,
		KeyConfig: signing.KeyConfig{KeyFile: "/etc/policyaudit/signing/digest-key.pem"}, Directory: "/var/lib/policyaudit/s3digest",
		AuditStore: store}, cfg.Digest)
	assert.Equal(t, time.Duration(0), cfg.RetryConfig.MaxElapsedTime, "an outage is retried without a time limit")
	assert.Equal(t, ArchiveConfig{Encryption: EncryptionKMS, KMSKeyID: "arn:aws:kms:eu-west-1:123456789012:key/policyaudit",
		ObjectLock: ObjectLockConfig{Mode: LockCompliance, RetentionDays: 2557, LegalHold: true}}, cfg.Archive)
}

func TestValidateNamesEveryBadKey(t *testing.T) {
	err := xconfmap.Validate(loadConfig(t, "bad"))
	require.Error(t, err)
	for _, want := range []string{
		"encoding_file_extension: required with encoding (e.g. parquet)",
		"bucket: must not be empty",
		"prefix_attribute or prefix: one must be set",
		"digest.prefix: must not be empty",
		"digest.interval: must be at least 1s",
		"digest.key_file and digest.key: give one",
		"digest.directory: must not be empty",
		`digest.audit_store.endpoint: "127.0.0.1:4321" is not an http:// or https:// URL`,
		`archive.encryption: "SSE-C" is not one of AES256, aws:kms`,
		"archive.kms_key_id: only with encryption aws:kms",
		`archive.object_lock.mode: "FOREVER" is not one of GOVERNANCE, COMPLIANCE`,
	} {
		assert.ErrorContains(t, err, want)
	}
	assert.ErrorContains(t, xconfmap.Validate(loadConfig(t, "lock_without_days")), "archive.object_lock.retention_days: must be positive with a mode")
	cfg := loadConfig(t, "full")
	cfg.Digest.KeyFile = ""
	assert.ErrorContains(t, cfg.Validate(), "digest.key_file or digest.key: required")
}
