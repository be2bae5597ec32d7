// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"github.com/policyaudit/policyaudit/test/harness"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
)

// exampleEnv is what an operator exports before starting a sidecar.
var exampleEnv = []string{
	"POLICYAUDIT_RECEIVER_TOKEN=receiver-token",
	"POLICYAUDIT_S3_BUCKET=policy-audit",
	"POLICYAUDIT_SECURITY_LAKE_BUCKET=aws-security-data-lake-eu-west-1-x",
	"POLICYAUDIT_AWS_ACCOUNT_ID=123456789012",
	"SPLUNK_HEC_ENDPOINT=https://splunk.example:8088/services/collector",
	"SPLUNK_HEC_TOKEN=00000000-0000-0000-0000-000000000000",
	"ELASTICSEARCH_ENDPOINT=https://elasticsearch.example:9200",
	"ELASTICSEARCH_API_KEY=api-key",
	"DD_API_KEY=0123456789abcdef0123456789abcdef",
	"POLICYAUDIT_PII_HASH_KEY=0123456789abcdef0123",
	"POLICYAUDIT_ID_KEY=fedcba9876543210fedcba",
	"POLICYAUDIT_VAULT_KEY=vault-key-0123456789",
	"POLICYAUDIT_OTLP_METRICS_ENDPOINT=https://otlp.example:4318",
	"POLICYAUDIT_ADMIN_TOKEN=admin-token-0123456789",
	"POLICYAUDIT_SIGNING_KEY_FILE=/etc/policyaudit/signing/key.pem",
	"POLICYAUDIT_TLS_CERT_FILE=/etc/policyaudit/tls/cert.pem",
	"POLICYAUDIT_TLS_KEY_FILE=/etc/policyaudit/tls/key.pem",
	"KONG_ADMIN_URL=https://kong-admin.internal:8444",
	"POLICYAUDIT_POSTGRES_DSN=postgres://policyaudit@db.internal:5432/audit?sslmode=verify-full",
	"KONG_ADMIN_TOKEN=kong-admin-token",
	"POLICYAUDIT_KONG_HTPASSWD=kong:$2y$05$abcdefghijklmnopqrstuO8Bm5y0t3l5oV8m3n4a0gX4Wl6zQmA2K",
	"AZURE_LOGS_INGESTION_ENDPOINT=https://policyaudit-abcd.westeurope-1.ingest.monitor.azure.com",
	"AZURE_DCR_IMMUTABLE_ID=dcr-0123456789abcdef0123456789abcdef",
	"AZURE_TENANT_ID=11111111-2222-3333-4444-555555555555",
	"AZURE_CLIENT_ID=66666666-7777-8888-9999-000000000000",
	"AZURE_CLIENT_SECRET=client-secret",
	"POLICYAUDIT_KAFKA_BROKERS=kafka-0.kafka:9092,kafka-1.kafka:9092,kafka-2.kafka:9092",
}

func validate(t *testing.T, env []string, files ...string) (string, error) {
	args := []string{"validate"}
	for _, f := range files {
		args = append(args, "--config", filepath.Join(harness.Root, "config", "examples", f))
	}
	cmd := exec.Command(harness.Bin(t), args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// Every example loads and passes every component's validation in the
// distribution, with its secrets taken from the environment.
func TestExampleConfigsValidate(t *testing.T) {
	for _, files := range [][]string{
		{"s3.yaml"}, {"splunk.yaml"}, {"elasticsearch.yaml"}, {"datadog.yaml"}, {"auditstore.yaml"}, {"all.yaml"},
		{"all.yaml", "pii.yaml", "tls.yaml"}, {"s3.yaml", "tls.yaml"}, {"auditstore.yaml", "kongaudit.yaml"}, {"auditstore.yaml", "kong.yaml"},
		{"azure.yaml"}, {"azure.yaml", "auditstore.yaml"}, {"ocsf.yaml"}, {"ocsf.yaml", "splunk.yaml"},
		{"postgres.yaml"}, {"s3.yaml", "postgres.yaml"},
		{"kafka.yaml"}, {"kafka.yaml", "pii.yaml", "tls.yaml"},
		{"auditstore.yaml", "tokenize.yaml"}, {"all.yaml", "tokenize.yaml"}, {"postgres.yaml", "tokenize.yaml"},
		{"auditstore.yaml", "metrics-otlp.yaml"}, {"all.yaml", "metrics-otlp.yaml"}, {"postgres.yaml", "metrics-otlp.yaml"},
	} {
		out, err := validate(t, exampleEnv, append([]string{"common.yaml"}, files...)...)
		assert.NoError(t, err, "%v:\n%s", files, out)
	}
	// The secrets really come from the environment: without them, validation fails.
	out, err := validate(t, exampleEnv[:1], "common.yaml", "datadog.yaml")
	assert.Error(t, err)
	assert.Contains(t, out, "api_key: must be set")
	out, err = validate(t, exampleEnv[:1], "common.yaml", "auditstore.yaml")
	assert.Error(t, err)
	assert.Contains(t, out, "signing.key_file or signing.key: required")
}
