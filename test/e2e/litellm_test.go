// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/policyaudit/policyaudit/test/harness"
)

// What LiteLLM's generic_api callback posts (a JSON array of its logging
// payloads, and its audit payloads) lands in the audit store: each
// guardrail's verdict found by the call's correlation ID, as
// testdata/expected says, and the guardrail edit that a deny joins to.
func TestLiteLLMPayloadsReachTheAuditStore(t *testing.T) {
	c := harness.StartDefault(t)
	raw, err := os.ReadFile(filepath.Join(harness.Root, "testdata", "fixtures", "litellm-calls.ndjson"))
	require.NoError(t, err)
	calls := strings.Split(strings.TrimSpace(string(raw)), "\n")
	resp, err := http.Post(c.URL+"/v1/litellm", "application/json", strings.NewReader("["+strings.Join(calls, ",")+"]"))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	status, answer := postFile(t, c.URL+"/v1/litellm", "application/json", false, "litellm-audit.ndjson")
	require.Equal(t, http.StatusOK, status, answer)

	storedAsExpected(t, c, "litellm-calls.jsonl", "guardrail_request")

	edits := c.QueryRecords(t, "", "/admin/api/v1/audit?days=3650&limit=50")
	var joined bool
	for _, e := range edits {
		joined = joined || (e["action"] == "litellm_guardrailstable.updated" && e["policy_id"] == "gd-pi-002")
	}
	assert.True(t, joined, "the guardrail's edit is stored under its policy_id: %v", edits)
}

// What Kong's http-log plugin posts (its log serializer's objects, batched
// as a JSON array) lands in the audit store, one decision per guardrail
// plugin, found by each request's correlation ID as testdata/expected says.
func TestKongLogsReachTheAuditStore(t *testing.T) {
	c := harness.StartDefault(t)
	status, answer := postFile(t, c.URL+"/v1/kong", "application/json", true, "kong-http-log.json")
	require.Equal(t, http.StatusOK, status, answer)
	storedAsExpected(t, c, "kong-http-log.jsonl", "input_faulty_prompt")
}

// Kong's http-log can only send a user:password in its URL: with
// config/examples/kong.yaml it posts its batches to a listener of its own
// with Basic auth, and is refused without it.
func TestKongHTTPLogWithBasicAuth(t *testing.T) {
	port := harness.FreePort(t)
	examples := filepath.Join(harness.Root, "config", "examples")
	c := harness.StartCollector(t, []string{
		"POLICYAUDIT_RECEIVER_TOKEN=" + harness.ReceiverToken, harness.NewSigningKey(t).Env(),
		"POLICYAUDIT_KONG_ENDPOINT=127.0.0.1:" + strconv.Itoa(port), "POLICYAUDIT_KONG_HTPASSWD=kong:kong-log-secret",
	}, filepath.Join(examples, "common.yaml"), filepath.Join(examples, "auditstore.yaml"), filepath.Join(examples, "kong.yaml"))
	body, err := os.ReadFile(filepath.Join(harness.Root, "testdata", "fixtures", "kong-http-log.json"))
	require.NoError(t, err)

	anonymous, err := http.Post("http://127.0.0.1:"+strconv.Itoa(port)+"/v1/kong", "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	anonymous.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, anonymous.StatusCode)

	resp, err := http.Post("http://kong:kong-log-secret@127.0.0.1:"+strconv.Itoa(port)+"/v1/kong", "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Eventually(t, func() bool {
		return len(c.QueryRecords(t, harness.ReceiverToken, "/api/v1/decisions?correlation_id=4bf92f3577b34da6a3ce929d0e0e4736")) == 1
	}, 30*time.Second, 200*time.Millisecond, "Kong's records did not reach the audit store:\n%s", c.Log)
}

// storedAsExpected finds each correlation ID of an expected file in the
// audit store with the verdicts the file gives it, and without the field
// that holds prompt text.
func storedAsExpected(t *testing.T, c *harness.Collector, expected, promptField string) {
	t.Helper()
	want := map[string][]string{}
	for _, line := range harness.Expected(t, expected) {
		rec := harness.Decode(t, line)
		cid := rec["correlation_id"].(string)
		want[cid] = append(want[cid], rec["decision"].(string))
	}
	for cid, decisions := range want {
		var got []map[string]any
		require.Eventually(t, func() bool {
			got = c.QueryRecords(t, "", "/api/v1/decisions?correlation_id="+cid)
			return len(got) == len(decisions)
		}, 30*time.Second, 200*time.Millisecond, "%s: %d records, want %d:\n%s", cid, len(got), len(decisions), c.Log)
		var verdicts []string
		for _, r := range got {
			verdicts = append(verdicts, r["decision"].(string))
			assert.NotContains(t, r["extra"], promptField, "prompt text does not reach the store")
		}
		assert.ElementsMatch(t, decisions, verdicts, cid)
	}
}
