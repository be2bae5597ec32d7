// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"encoding/json"
	"flag"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/policyaudit/policyaudit/exporter/auditstoreexporter"
	"github.com/policyaudit/policyaudit/extension/auditstoreextension"
	"github.com/policyaudit/policyaudit/processor/policydecisionprocessor"
	"github.com/policyaudit/policyaudit/test/peers/elasticsearch"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata/subject-erase.txt from the command's output")

const subjectConfig = `
extensions:
  auditstore:
    path: ${env:TEST_STORE}
    query:
      endpoint: ${env:TEST_QUERY}
    vault:
      key: ${env:TEST_VAULT_KEY}
    admin:
      token: ${env:TEST_ADMIN_TOKEN}
processors:
  policydecision:
    id_key: ${env:TEST_ID_KEY}
    pii:
      vault: auditstore
      hash_key: ${env:TEST_HASH_KEY}
      fields:
        policy_user: tokenize
        actor.id: tokenize
  policydecision/elastic:
    destination: elasticsearch
exporters:
  auditstore:
  file:
    path: ${env:TEST_EXPORT_DIR}/*/decisions.jsonl
    encoding: jsonl_encoding
    group_by:
      enabled: true
  elasticsearch:
    endpoints: ["${env:TEST_ES}"]
    api_key: es-key
  splunk_hec:
    endpoint: http://127.0.0.1:1/services/collector
  datadog_logs:
    api_key: x
  azure_logs_ingestion:
    endpoint: https://example.ingest.monitor.azure.com
service:
  pipelines:
    logs/audit:
      receivers: [policygateway]
      processors: [policydecision]
      exporters: [auditstore, file, splunk_hec, datadog_logs, azure_logs_ingestion]
    logs/elastic:
      receivers: [policygateway]
      processors: [policydecision/elastic]
      exporters: [elasticsearch]
`

type extHost struct {
	component.Host
	exts map[component.ID]component.Component
}

func (h extHost) GetExtensions() map[component.ID]component.Component { return h.exts }

// subjectTrail starts the audit store of subjectConfig and writes into it,
// through the real processor and exporter, decisions of alice and bob
// tokenised, and one of alice's stored before tokenize was configured.
func subjectTrail(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	query := ln.Addr().String()
	require.NoError(t, ln.Close())
	for k, v := range map[string]string{
		"TEST_STORE": filepath.Join(t.TempDir(), "audit.db"), "TEST_QUERY": query, "TEST_VAULT_KEY": "vault-key-0123456789",
		"TEST_ADMIN_TOKEN": "admin-token-0123456789", "TEST_ID_KEY": "id-key-0123456789abcdef", "TEST_HASH_KEY": "hash-key-0123456789",
	} {
		t.Setenv(k, v)
	}
	f := auditstoreextension.NewFactory()
	scfg := f.CreateDefaultConfig().(*auditstoreextension.Config)
	scfg.Path, scfg.Query.Endpoint = os.Getenv("TEST_STORE"), query
	scfg.Vault.Key, scfg.Admin.Token = "vault-key-0123456789", "admin-token-0123456789"
	ext, err := f.Create(context.Background(), extensiontest.NewNopSettings(f.Type()), scfg)
	require.NoError(t, err)
	require.NoError(t, ext.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, ext.Shutdown(context.Background())) })
	h := extHost{componenttest.NewNopHost(), map[component.ID]component.Component{component.MustNewID("auditstore"): ext}}

	ef := auditstoreexporter.NewFactory()
	ecfg := ef.CreateDefaultConfig().(*auditstoreexporter.Config)
	ecfg.QueueConfig.Enabled = false
	exp, err := ef.CreateLogs(context.Background(), exportertest.NewNopSettings(ef.Type()), ecfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), h))
	t.Cleanup(func() { require.NoError(t, exp.Shutdown(context.Background())) })

	pf := policydecisionprocessor.NewFactory()
	process := func(cfg *policydecisionprocessor.Config, next consumer.Logs, bodies ...string) {
		p, err := pf.CreateLogs(context.Background(), processortest.NewNopSettings(pf.Type()), cfg, next)
		require.NoError(t, err)
		require.NoError(t, p.Start(context.Background(), h))
		ld := plog.NewLogs()
		lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
		for _, b := range bodies {
			lrs.AppendEmpty().Body().SetStr(b)
		}
		require.NoError(t, p.ConsumeLogs(context.Background(), ld))
		require.NoError(t, p.Shutdown(context.Background()))
	}
	// Before tokenize: the value itself is stored.
	process(pf.CreateDefaultConfig().(*policydecisionprocessor.Config), exp,
		`{"policy_id":"p","decision":"deny","policy_user":"alice@example.com","correlation_id":"before-1","created_at":"2026-03-01T09:00:00Z"}`)
	tokenize := pf.CreateDefaultConfig().(*policydecisionprocessor.Config)
	tokenize.IDKey = configopaque.String(os.Getenv("TEST_ID_KEY"))
	vault := component.MustNewID("auditstore")
	tokenize.PII.Vault = &vault
	tokenize.PII.Fields = map[string]string{"policy_user": "tokenize", "actor.id": "tokenize", "api_key_id": "tokenize"}
	process(tokenize, exp,
		`{"policy_id":"p","decision":"deny","policy_user":"alice@example.com","api_key_id":"key_live_alice","correlation_id":"after-1","created_at":"2026-03-02T09:00:00Z"}`,
		`{"policy_id":"p","decision":"allow","policy_user":"bob@example.com","correlation_id":"after-2","created_at":"2026-03-02T09:00:01Z"}`,
		`{"event_kind":"admin_audit","action":"policy.update","actor":{"id":"alice@example.com","type":"user"},"resource":{"type":"policy","id":"p"},"correlation_id":"after-3","created_at":"2026-03-02T09:00:02Z"}`)

	cfgPath := filepath.Join(t.TempDir(), "config.yaml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(subjectConfig), 0o600))
	return cfgPath
}

func TestSubjectExportGivesEveryRecordAboutThePersonWithItsLink(t *testing.T) {
	cfgPath := subjectTrail(t)
	out := filepath.Join(t.TempDir(), "alice.jsonl")
	code, msg := policyaudit("subject", "export", "--subject", "alice@example.com", "--config", cfgPath, "--out", out)
	require.Equal(t, 0, code, msg)
	assert.Contains(t, msg, "3 records; the chain verifies")
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	require.Len(t, lines, 4)
	var cids []string
	for _, l := range lines[:3] {
		var row struct {
			Seq    int64          `json:"seq"`
			Hash   string         `json:"hash"`
			Record map[string]any `json:"record"`
		}
		require.NoError(t, json.Unmarshal([]byte(l), &row))
		assert.NotEmpty(t, row.Hash)
		cids = append(cids, row.Record["correlation_id"].(string))
	}
	assert.ElementsMatch(t, []string{"after-1", "after-3", "before-1"}, cids, "as user and as actor, tokenised or from before")
	assert.NotContains(t, string(b), "bob")

	code, msg = policyaudit("subject", "export", "--subject", "alice@example.com")
	assert.Equal(t, 2, code, msg)
}

func TestSubjectEraseForgetsThePersonAndReportsEveryCopy(t *testing.T) {
	cfgPath := subjectTrail(t)
	es := elasticsearch.Start("es-key")
	defer es.Close()
	t.Setenv("TEST_ES", es.URL)
	hash := forms(collectorConfig{"processors": map[string]any{"policydecision": map[string]any{"pii": map[string]any{"hash_key": "hash-key-0123456789"}}}}, "alice@example.com")[1]
	bulk(t, es, `{"create":{"_index":"logs-policy_gateway.audit-default","_id":"ev-1"}}`+"\n"+
		`{"@timestamp":"2026-03-01T09:00:00.000Z","policy":{"correlation_id":"before-1","policy_user":"alice@example.com"}}`+"\n"+
		`{"create":{"_index":"logs-policy_gateway.audit-default","_id":"ev-2"}}`+"\n"+
		`{"@timestamp":"2026-03-01T09:00:01.000Z","policy":{"correlation_id":"hashed-1","policy_user":"`+hash+`"}}`+"\n"+
		`{"create":{"_index":"logs-policy_gateway.audit-default","_id":"ev-3"}}`+"\n"+
		`{"@timestamp":"2026-03-02T09:00:01.000Z","policy":{"correlation_id":"after-2","policy_user":"bob@example.com"}}`+"\n")
	dir := t.TempDir()
	t.Setenv("TEST_EXPORT_DIR", dir)
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "date=2026-03-01"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "date=2026-03-01", "decisions.jsonl"), []byte(
		`{"correlation_id":"before-1","policy_user":"alice@example.com"}`+"\n"+`{"correlation_id":"x","policy_user":"malice@example.com"}`+"\n"), 0o600))

	code, out := policyaudit("subject", "erase", "--subject", "alice@example.com", "--reason", "GDPR art. 17 request 2026-114", "--actor", "dpo@example.com", "--config", cfgPath)
	require.Equal(t, 0, code, out)
	assert.NotContains(t, out, "alice@example.com\t", "the report does not repeat the value as a heading")
	assert.Regexp(t, `erased: the vault entry of token tok_[a-z2-7]{26} \(subject.erase event [0-9a-f-]{36}\); 2 stored records keep the token`, out)
	assert.Regexp(t, `- auditstore: cannot be removed \(1\)\n    records in the signed chain`, out, "the record from before tokenize")
	assert.Regexp(t, `- elasticsearch: removed \(2\)\n    _delete_by_query on logs-policy_gateway.audit-default,logs-policy_gateway.admin-default`, out, "the value and its keyed hash, with the exporter's key, in its streams only")
	assert.Regexp(t, `- file: FOUND \(1\)\n    \S+date=2026-03-01/decisions.jsonl\n    rewrite`, out)
	assert.Regexp(t, `- splunk_hec: search there\n    .*\| delete`, out)
	assert.Contains(t, out, `policy_user IN ("alice@example.com", "`+hash+`")`)
	assert.Regexp(t, `- datadog_logs: cannot be removed\n    Datadog deletes no log by query`, out)
	assert.Regexp(t, `- azure_logs_ingestion: search there\n    .*/purge\?api-version=2020-08-01.*"column":"PolicyUser","operator":"in"`, out)
	var left []string
	for _, d := range es.Docs() {
		left = append(left, d.ID)
	}
	assert.Equal(t, []string{"ev-3"}, left, "bob's document stays")

	golden := filepath.Join("testdata", "subject-erase.txt")
	stable := stableReport(out, dir)
	if *updateGolden {
		require.NoError(t, os.WriteFile(golden, []byte(stable), 0o600))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	assert.Equal(t, string(want), stable, "go test ./cmd/policyaudit -run SubjectErase -update rewrites it")
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	require.NoError(t, err)
	assert.True(t, strings.Contains(string(readme), stable), "the README's worked example is not this output (testdata/subject-erase.txt)")

	assert.Regexp(t, `other tokens in those records \(an API key ID, another identifier\): tok_[a-z2-7]{26}\n`, out, "her API key ID's token is named")

	// Her API key ID is erased on its own: then nothing of hers is left in the vault.
	code, out = policyaudit("subject", "erase", "--subject", "key_live_alice", "--reason", "GDPR art. 17 request 2026-114", "--actor", "dpo@example.com", "--config", cfgPath)
	require.Equal(t, 0, code, out)
	assert.Regexp(t, `erased: the vault entry of token tok_[a-z2-7]{26} .*; 1 stored records keep the token`, out)

	// Erased: a second erasure finds no token, a search by the value nothing.
	code, out = policyaudit("subject", "erase", "--subject", "alice@example.com", "--reason", "again", "--actor", "dpo@example.com", "--config", cfgPath, "--format", "json")
	require.Equal(t, 0, code, out)
	var rep erasureReport
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	assert.Equal(t, []*erasure{nil}, rep.Erased)
	assert.Equal(t, 1, rep.NotInVault, "erased already")
	code, out = policyaudit("subject", "export", "--subject", "alice@example.com", "--config", cfgPath)
	require.Equal(t, 0, code, out)
	assert.NotContains(t, out, "after-1", "the tokenised records are about nobody now")
	assert.Contains(t, out, "before-1", "the stored record from before tokenize still holds the value")
}

// stableReport replaces what differs from run to run (tokens, event IDs,
// temporary directories, ports).
func stableReport(out, dir string) string {
	out = strings.ReplaceAll(out, dir, "/var/lib/policyaudit/export")
	// Each token keeps its own stand-in, in the order they appear.
	standIns := []string{"tok_3r4mzqb6x2kt7vhw5nyjc6dqla", "tok_h5w2kpq7zr3mxe6ny4tbvd2jca"}
	seen := map[string]string{}
	out = regexp.MustCompile(`tok_[a-z2-7]{26}`).ReplaceAllStringFunc(out, func(tok string) string {
		if _, ok := seen[tok]; !ok {
			seen[tok] = standIns[len(seen)%len(standIns)]
		}
		return seen[tok]
	})
	out = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`).ReplaceAllString(out, "0c9f4e2a-7d41-4b8e-9a35-2f6c1d8e7b90")
	return out
}
