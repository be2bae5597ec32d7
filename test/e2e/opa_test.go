// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/policyaudit/policyaudit/test/harness"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// opaBin is a real OPA (make test installs v1.22.2 into ./bin).
func opaBin(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("OPA_BIN"); p != "" {
		return p
	}
	p, err := exec.LookPath("opa")
	require.NoError(t, err, "OPA is needed: run `make tools` or set OPA_BIN")
	return p
}

// An OPA whose decision logging points at the receiver: every evaluation's
// decision log arrives normalised, under the OPA decision ID, with the
// bundle's revision as the policy version.
func TestOPADecisionLogsArriveNormalised(t *testing.T) {
	c := harness.StartDefault(t)
	port := harness.FreePort(t)
	dir := t.TempDir()
	opaConfig := fmt.Sprintf(`services:
  policyaudit:
    url: %s
decision_logs:
  service: policyaudit
  resource: /v1/opa/logs
  reporting:
    min_delay_seconds: 1
    max_delay_seconds: 2
labels:
  app: llm-gateway
`, c.URL)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "opa.yaml"), []byte(opaConfig), 0o600))

	var opaLog bytes.Buffer
	opa := exec.Command(opaBin(t), "run", "--server", "--addr", "127.0.0.1:"+strconv.Itoa(port),
		"--config-file", filepath.Join(dir, "opa.yaml"), "--bundle", filepath.Join("testdata", "opa-bundle"))
	opa.Stdout, opa.Stderr = &opaLog, &opaLog
	require.NoError(t, opa.Start())
	t.Cleanup(func() {
		_ = opa.Process.Signal(syscall.SIGTERM)
		_ = opa.Wait()
	})
	opaURL := "http://127.0.0.1:" + strconv.Itoa(port)
	require.Eventually(t, func() bool {
		resp, err := http.Get(opaURL + "/health?bundles")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 30*time.Second, 100*time.Millisecond, "OPA did not start:\n%s", &opaLog)

	inputs := []map[string]any{
		{"user": "alice@example.com", "project": "support-bot", "model": "gpt-4.1", "categories": []string{"jailbreak"}, "request_id": "req-opa-1"},
		{"user": "bob@example.com", "project": "support-bot", "model": "gpt-4.1", "categories": []string{}, "request_id": "req-opa-2"},
		{"user": "carol@example.com", "project": "crm-assistant", "model": "claude-haiku", "categories": []string{"jailbreak", "pii"}, "request_id": "req-opa-3"},
		{"user": "dave@example.com", "project": "crm-assistant", "model": "claude-haiku", "request_id": "req-opa-4"},
	}
	decisionIDs := map[string]map[string]any{} // OPA decision_id -> input
	for _, in := range inputs {
		body, _ := json.Marshal(map[string]any{"input": in})
		resp, err := http.Post(opaURL+"/v1/data/llm/guardrails/decision", "application/json", bytes.NewReader(body))
		require.NoError(t, err)
		var answer struct {
			DecisionID string         `json:"decision_id"`
			Result     map[string]any `json:"result"`
		}
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&answer))
		resp.Body.Close()
		require.NotEmpty(t, answer.DecisionID, "decision logging is on, so OPA names each decision")
		decisionIDs[answer.DecisionID] = in
	}

	got := c.WaitForLines(t, len(inputs))
	var records []map[string]any
	for _, lines := range got {
		for _, line := range lines {
			var rec map[string]any
			require.NoError(t, json.Unmarshal([]byte(line), &rec))
			records = append(records, rec)
		}
	}
	require.Len(t, records, len(inputs), "one record per evaluation:\n%s", &opaLog)
	today := time.Now().UTC().Format("2006-01-02")
	for _, rec := range records {
		in, ok := decisionIDs[rec["event_id"].(string)]
		require.True(t, ok, "event_id is OPA's decision_id: %v", rec)
		jailbreak := false
		if cats, ok := in["categories"].([]string); ok {
			for _, c := range cats {
				jailbreak = jailbreak || c == "jailbreak"
			}
		}
		assert.Equal(t, "policy_decision", rec["event_kind"])
		assert.Equal(t, "jailbreak-filter", rec["policy_id"])
		assert.Equal(t, "r2026.11.22-1", rec["policy_version"], "the bundle revision")
		assert.Equal(t, in["request_id"], rec["correlation_id"])
		assert.Equal(t, in["user"], rec["policy_user"])
		assert.Equal(t, in["project"], rec["project_id"])
		assert.Equal(t, in["model"], rec["model"])
		if jailbreak {
			assert.Equal(t, "deny", rec["decision"])
			assert.Equal(t, "JAILBREAK", rec["reason_code"])
			assert.Equal(t, []any{"jailbreak"}, rec["triggered_categories"])
		} else {
			assert.Equal(t, "allow", rec["decision"])
			assert.Equal(t, "ALLOW", rec["reason_code"])
		}
		assert.Equal(t, rec["decision"], rec["effective_decision"])
		assert.Equal(t, today, rec["created_at"].(string)[:10])
		extra, _ := rec["extra"].(map[string]any)
		assert.Equal(t, "llm/guardrails/decision", extra["path"])
	}
}
