// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package elasticsearch

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func post(t *testing.T, s *Server, path, key, body string, gz bool) (int, map[string]any) {
	t.Helper()
	var rd io.Reader = strings.NewReader(body)
	if gz {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		_, _ = zw.Write([]byte(body))
		require.NoError(t, zw.Close())
		rd = &b
	}
	req, err := http.NewRequest(http.MethodPost, s.URL+path, rd)
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-ndjson")
	if gz {
		req.Header.Set("Content-Encoding", "gzip")
	}
	if key != "" {
		req.Header.Set("Authorization", "ApiKey "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, "Elasticsearch", resp.Header.Get("X-Elastic-Product"))
	var out map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	return resp.StatusCode, out
}

const goodDoc = `{"@timestamp":"2026-03-02T08:14:55.000Z","data_stream":{"type":"logs","dataset":"policy_gateway.audit","namespace":"default"},"policy":{"correlation_id":"c-1"}}`

func TestBulkStoresOnceAndSearchFindsIt(t *testing.T) {
	s := Start("k")
	defer s.Close()
	body := `{"create":{"_index":"logs-policy_gateway.audit-default","_id":"e-1"}}` + "\n" + goodDoc + "\n"
	status, out := post(t, s, "/_bulk", "k", body, true)
	require.Equal(t, 200, status)
	assert.Equal(t, false, out["errors"])

	status, out = post(t, s, "/_bulk", "k", body, false)
	require.Equal(t, 200, status)
	assert.Equal(t, true, out["errors"], "the replay is refused per item")
	item := out["items"].([]any)[0].(map[string]any)["create"].(map[string]any)
	assert.EqualValues(t, 409, item["status"])
	assert.Equal(t, "version_conflict_engine_exception", item["error"].(map[string]any)["type"])
	assert.Len(t, s.Docs(), 1)
	assert.Equal(t, 1, s.Conflicts())

	status, out = post(t, s, "/logs-policy_gateway.*/_search", "k", `{"query":{"term":{"policy.correlation_id":"c-1"}}}`, false)
	require.Equal(t, 200, status)
	hits := out["hits"].(map[string]any)
	assert.EqualValues(t, 1, hits["total"].(map[string]any)["value"])
	_, out = post(t, s, "/logs-other-*/_search", "k", `{"query":{"term":{"policy.correlation_id":"c-1"}}}`, false)
	assert.EqualValues(t, 0, out["hits"].(map[string]any)["total"].(map[string]any)["value"])
	assert.Empty(t, s.Violations())
}

func TestBulkRefusesWhatElasticsearchRefuses(t *testing.T) {
	s := Start("k")
	defer s.Close()
	status, _ := post(t, s, "/_bulk", "wrong", `{"create":{"_index":"x"}}`+"\n{}\n", false)
	assert.Equal(t, 401, status)

	for name, body := range map[string]string{
		"no final newline":  `{"create":{"_index":"logs-a-b","_id":"1"}}` + "\n" + goodDoc,
		"two actions":       `{"create":{"_index":"a"},"index":{"_index":"a"}}` + "\n{}\n",
		"unknown action":    `{"upsert":{"_index":"a"}}` + "\n{}\n",
		"unknown meta":      `{"create":{"_index":"a","_type":"doc"}}` + "\n{}\n",
		"no index":          `{"create":{"_id":"1"}}` + "\n{}\n",
		"upper-case index":  `{"create":{"_index":"Logs-a-b"}}` + "\n{}\n",
		"source not object": `{"create":{"_index":"a"}}` + "\n[1,2]\n",
		"missing source":    `{"create":{"_index":"a"}}` + "\n",
		"action not JSON":   "create a\n{}\n",
	} {
		status, _ := post(t, s, "/_bulk", "k", body, false)
		assert.Equal(t, 400, status, name)
	}
	assert.Len(t, s.Violations(), 9)

	// Item-level refusals of a data stream, as a cluster answers them.
	for name, line := range map[string]string{
		"index op":           `{"index":{"_index":"logs-policy_gateway.audit-default","_id":"2"}}` + "\n" + goodDoc + "\n",
		"no @timestamp":      `{"create":{"_index":"logs-policy_gateway.audit-default","_id":"3"}}` + "\n{\"policy\":{}}\n",
		"dataset mismatch":   `{"create":{"_index":"logs-policy_gateway.admin-default","_id":"4"}}` + "\n" + goodDoc + "\n",
		"namespace mismatch": `{"create":{"_index":"logs-policy_gateway.audit-prod","_id":"5"}}` + "\n" + goodDoc + "\n",
	} {
		status, out := post(t, s, "/_bulk", "k", line, false)
		assert.Equal(t, 200, status, name)
		assert.Equal(t, true, out["errors"], name)
	}
	assert.Empty(t, s.Docs())
}

// itemOf is the first item of a bulk answer.
func itemOf(out map[string]any) map[string]any {
	return out["items"].([]any)[0].(map[string]any)["create"].(map[string]any)
}

func TestIDsAreUniquePerBackingIndexOnly(t *testing.T) {
	s := Start("")
	defer s.Close()
	const stream = "logs-policy_gateway.audit-default"
	body := `{"create":{"_index":"` + stream + `","_id":"e-1"}}` + "\n" + goodDoc + "\n"
	_, out := post(t, s, "/_bulk", "", body, false)
	assert.Equal(t, ".ds-"+stream+"-2026.01.01-000001", itemOf(out)["_index"])
	_, out = post(t, s, "/_bulk", "", body, false)
	assert.EqualValues(t, 409, itemOf(out)["status"], "a replay into the same backing index")

	s.Rollover(stream)
	_, out = post(t, s, "/_bulk", "", body, false)
	assert.EqualValues(t, 201, itemOf(out)["status"], "the same _id after a rollover")
	assert.Equal(t, ".ds-"+stream+"-2026.01.01-000002", itemOf(out)["_index"])
	docs := s.Docs()
	require.Len(t, docs, 2)
	assert.Equal(t, docs[0].ID, docs[1].ID)
	assert.NotEqual(t, docs[0].Backing, docs[1].Backing)
}

func TestDocumentsMustFitTheMapping(t *testing.T) {
	s := Start("")
	defer s.Close()
	const stream = "logs-policy_gateway.audit-default"
	s.SetMapping(stream, "policy.version", "long")
	create := func(id, source string) map[string]any {
		_, out := post(t, s, "/_bulk", "", `{"create":{"_index":"`+stream+`","_id":"`+id+`"}}`+"\n"+source+"\n", false)
		return itemOf(out)
	}
	const head = `{"@timestamp":"2026-03-02T08:14:55.000Z",`
	assert.EqualValues(t, 201, create("1", head+`"policy":{"version":"7","seen":"2026-03-02","n":3,"tags":["a","b"]}}`)["status"], "a numeric string coerced into long")
	for name, c := range map[string]struct{ id, source, field string }{
		"template's long":        {"2", head + `"policy":{"version":"v7"}}`, "policy.version"},
		"dynamic date":           {"3", head + `"policy":{"version":1,"seen":"yesterday"}}`, "policy.seen"},
		"dynamic long":           {"4", head + `"policy":{"version":1,"n":"many"}}`, "policy.n"},
		"object into keyword":    {"5", head + `"policy":{"version":1,"tags":[{"a":1}]}}`, "policy.tags"},
		"concrete into object":   {"6", head + `"policy":"flat"}`, "policy"},
		"conflict within itself": {"7", head + `"policy":{"version":1,"x":[1,"one"]}}`, "policy.x"},
	} {
		item := create(c.id, c.source)
		assert.EqualValues(t, 400, item["status"], name)
		assert.Equal(t, "document_parsing_exception", item["error"].(map[string]any)["type"], name)
		assert.Contains(t, item["error"].(map[string]any)["reason"], "["+c.field+"]", name)
	}
	assert.Len(t, s.Docs(), 1)
	assert.Equal(t, 1, s.Refused()["policy.version"])
	// A refused document added no field: "x" is still unmapped.
	assert.EqualValues(t, 201, create("8", head+`"policy":{"version":1,"x":"one"}}`)["status"])
}
