// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/policyaudit/policyaudit/exporter/azurelogsingestionexporter"
	"github.com/policyaudit/policyaudit/test/peers/elasticsearch"
)

const locateConfig = `
extensions:
  jsonl_encoding:
processors:
  policydecision:
  policydecision/elastic:
    destination: elasticsearch
  policydecision/splunk:
    destination: splunk_hec
    splunk:
      index: ${env:TEST_SPLUNK_INDEX:-main}
exporters:
  file:
    path: ${env:TEST_EXPORT_DIR}/*/decisions.jsonl
    encoding: jsonl_encoding
    group_by:
      enabled: true
  elasticsearch:
    endpoints: ["${env:TEST_ES}"]
    api_key: ${env:TEST_ES_KEY}
  splunk_hec:
    endpoint: http://127.0.0.1:1/services/collector
service:
  pipelines:
    logs/file:
      receivers: [policygateway]
      processors: [policydecision]
      exporters: [file]
    logs/elastic:
      receivers: [policygateway]
      processors: [policydecision/elastic]
      exporters: [elasticsearch]
    logs/splunk:
      receivers: [policygateway]
      processors: [policydecision/splunk]
      exporters: [splunk_hec]
`

func bulk(t *testing.T, es *elasticsearch.Server, body string) {
	req, err := http.NewRequest(http.MethodPost, es.URL+"/_bulk", strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-ndjson")
	req.Header.Set("Authorization", "ApiKey "+es.APIKey)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

func TestVerifyCorrelationIDInEveryDestination(t *testing.T) {
	es := elasticsearch.Start("es-key")
	defer es.Close()
	bulk(t, es, `{"create":{"_index":"logs-policy_gateway.audit-default","_id":"ev-1"}}`+"\n"+
		`{"@timestamp":"2026-03-02T09:00:01.000Z","policy":{"correlation_id":"c-1","decision":"deny","policy_id":"p","policy_version":"3"}}`+"\n")

	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "date=2026-03-02"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "date=2026-03-02", "decisions.jsonl"), []byte(
		`{"correlation_id":"c-0","decision":"allow"}`+"\n"+
			`{"correlation_id":"c-1","decision":"deny","policy_id":"p","policy_version":"3"}`), 0o600))
	cfgPath := filepath.Join(t.TempDir(), "config.yaml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(locateConfig), 0o600))
	t.Setenv("TEST_EXPORT_DIR", dir)
	t.Setenv("TEST_ES", es.URL)
	t.Setenv("TEST_ES_KEY", "es-key")
	t.Setenv("TEST_SPLUNK_INDEX", "security")

	code, out := policyaudit("verify", "--correlation-id", "c-1", "--config", cfgPath)
	assert.Equal(t, 0, code, out)
	assert.Regexp(t, `elasticsearch\s+found\s+\.ds-logs-policy_gateway\.audit-default-\S+/_doc/ev-1 \(deny by p@3\)`, out)
	assert.Regexp(t, `file\s+found\s+\S+date=2026-03-02/decisions.jsonl \(deny by p@3\)`, out)
	assert.Regexp(t, `splunk_hec\s+not queried\s+.*index=security correlation_id="c-1"`, out)

	code, out = policyaudit("verify", "--correlation-id", "c-1", "--date", "2026-03-03", "--config", cfgPath)
	assert.Equal(t, 1, code, out)
	assert.Regexp(t, `file\s+MISSING`, out, "--date narrows the listing to that partition")

	code, out = policyaudit("verify", "--correlation-id", "c-0", "--config", cfgPath)
	assert.Equal(t, 1, code, "c-0 is in the file only")
	assert.Regexp(t, `elasticsearch\s+MISSING`, out)

	t.Setenv("TEST_ES_KEY", "wrong")
	code, out = policyaudit("verify", "--correlation-id", "c-1", "--config", cfgPath)
	assert.Equal(t, 1, code)
	assert.Regexp(t, `elasticsearch\s+ERROR\s+.*401`, out)

	code, _ = policyaudit("verify", "--correlation-id", "c-1")
	assert.Equal(t, 2, code, "--correlation-id needs --config")
}

func TestMatchingLinesReadsGzip(t *testing.T) {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	_, _ = zw.Write([]byte(`{"correlation_id":"c-1"}` + "\n" + `{"correlation_id":"c-10"}` + "\n"))
	require.NoError(t, zw.Close())
	recs, err := matchingLines(&b, "c-1")
	require.NoError(t, err)
	assert.Len(t, recs, 1, "c-10 contains c-1 but is another ID")
}

// The Logs Ingestion API cannot be read back: verify prints the KQL that
// finds the request in the tables deploy/azure creates, quoted for Kusto.
func TestAzureKQL(t *testing.T) {
	assert.Equal(t, `union PolicyAuditDecisions_CL, PolicyAuditAdmin_CL | where CorrelationId == "c-1" | order by TimeGenerated asc`, azurelogsingestionexporter.CorrelationQuery("c-1"))
	assert.Equal(t, `union PolicyAuditDecisions_CL, PolicyAuditAdmin_CL | where CorrelationId == "a\"b\\c" | order by TimeGenerated asc`, azurelogsingestionexporter.CorrelationQuery(`a"b\c`))
}
