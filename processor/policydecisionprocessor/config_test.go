// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package policydecisionprocessor

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/confmap/xconfmap"

	"github.com/policyaudit/policyaudit/processor/policydecisionprocessor/internal/metadata"
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
	assert.Equal(t, createDefaultConfig(), def)

	cfg := loadConfig(t, "elastic")
	require.NoError(t, xconfmap.Validate(cfg))
	assert.Equal(t, DestinationElasticsearch, cfg.Destination)
	assert.Equal(t, OnErrorDrop, cfg.OnError)
	assert.True(t, cfg.BodyLogging)
	assert.Equal(t, map[string]string{"policy_user": PIIHash, "actor.ip": PIIRedact, "details": PIIBlock}, cfg.PII.Fields)
	assert.Equal(t, "fedcba9876543210fedcba9876543210", string(cfg.IDKey))
	assert.Equal(t, "prod", cfg.Elastic.Namespace)
	assert.Equal(t, "policy_gateway.audit", cfg.Elastic.Dataset, "defaults stay where the file is silent")
	assert.Equal(t, "security", cfg.Splunk.Index)
	assert.Equal(t, "llm-gateway", cfg.Datadog.Service)
	assert.Equal(t, PartitionConfig{Attribute: "s3.prefix", Prefix: "audit", Layout: LayoutDate}, cfg.Partition)
}

func TestLoadOCSFConfig(t *testing.T) {
	cfg := loadConfig(t, "ocsf")
	require.NoError(t, xconfmap.Validate(cfg))
	assert.Equal(t, DestinationOCSF, cfg.Destination)
	assert.True(t, cfg.OCSF.Findings)
	assert.Equal(t, PartitionConfig{Attribute: "policyaudit.partition", Prefix: "ext/policyaudit/region=eu-west-1/accountId=123456789012", Layout: LayoutSecurityLake}, cfg.Partition)
}

func TestLoadTokenizeConfig(t *testing.T) {
	cfg := loadConfig(t, "tokenize")
	require.NoError(t, xconfmap.Validate(cfg))
	assert.Equal(t, map[string]string{"policy_user": PIITokenize, "actor.id": PIITokenize, "actor.ip": PIIBlock}, cfg.PII.Fields)
	require.NotNil(t, cfg.PII.Vault)
	assert.Equal(t, "auditstore/fleet", cfg.PII.Vault.String())

	err := xconfmap.Validate(loadConfig(t, "tokenize_without_vault"))
	assert.ErrorContains(t, err, "pii.vault: required when a field uses tokenize")
}

func TestValidateNamesEveryBadKey(t *testing.T) {
	err := xconfmap.Validate(loadConfig(t, "bad"))
	require.Error(t, err)
	for _, want := range []string{
		`destination: "kafka" is not one of otlp, elasticsearch, splunk_hec, datadog, ocsf`,
		`on_error: "ignore" is not one of flag, drop`,
		`partition.layout: "monthly" is not one of date, security_lake`,
		`pii.fields.event_id: a required field cannot be redacted, hashed, blocked or tokenised`,
		`pii.fields.actor.ip: "scramble" is not one of redact, hash, block, tokenize`,
		`pii.hash_key: at least 16 bytes are required when a field uses hash`,
		`id_key: required when pii.fields.actor.ip, pii.fields.event_id, pii.fields.policy_user are set`,
	} {
		assert.ErrorContains(t, err, want)
	}
}
