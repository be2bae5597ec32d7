// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"bytes"
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

	"github.com/policyaudit/policyaudit/test/harness"
)

// A real LiteLLM proxy (LITELLM_BIN, installed by make tools) with a mocked
// model and the test's own guardrail (testdata/litellm) sends its logging
// payloads through its generic_api callback to the sidecar: a prompt that
// passes, one whose e-mail address the guardrail masks and one it blocks
// arrive as allow, redact and deny, found in the audit store by the call
// IDs LiteLLM answered with.
func TestLiteLLMProxyVerdictsReachTheAuditStore(t *testing.T) {
	bin := os.Getenv("LITELLM_BIN")
	if bin == "" {
		t.Skip("LITELLM_BIN is not set (make test sets it)")
	}
	examples := filepath.Join(harness.Root, "config", "examples")
	c := harness.StartCollector(t, []string{"POLICYAUDIT_RECEIVER_TOKEN=" + harness.ReceiverToken, harness.NewSigningKey(t).Env()},
		filepath.Join(examples, "common.yaml"), filepath.Join(examples, "auditstore.yaml"))
	proxy := startLiteLLM(t, bin, c.URL+"/v1/litellm", harness.ReceiverToken)

	calls := map[string]string{} // call ID → the verdict expected
	for prompt, verdict := range map[string]string{
		"hello there":                     "allow",
		"write to ann@example.com please": "redact",
	} {
		status, callID := chat(t, proxy, prompt)
		require.Equal(t, http.StatusOK, status, prompt)
		require.NotEmpty(t, callID, "LiteLLM answers with x-litellm-call-id")
		calls[callID] = verdict
	}
	status, _ := chat(t, proxy, "BLOCK this one")
	require.Equal(t, http.StatusBadRequest, status, "the guardrail blocks")

	var all []map[string]any
	require.Eventually(t, func() bool {
		all = c.QueryRecords(t, harness.ReceiverToken, "/api/v1/decisions?policy_id=verdict-guard&limit=10")
		return len(all) == 3
	}, 90*time.Second, time.Second, "LiteLLM's verdicts did not all reach the audit store (%d):\n%s", len(all), c.Log)
	var decisions []string
	for _, r := range all {
		decisions = append(decisions, r["decision"].(string))
		assert.Equal(t, "litellm", r["gateway"])
		assert.Equal(t, "request", r["stage"], "a pre_call guardrail judges the request")
	}
	assert.ElementsMatch(t, []string{"allow", "redact", "deny"}, decisions)
	for callID, verdict := range calls {
		got := c.QueryRecords(t, harness.ReceiverToken, "/api/v1/decisions?correlation_id="+callID)
		require.Len(t, got, 1, callID)
		assert.Equal(t, verdict, got[0]["decision"], callID)
	}
}

// startLiteLLM runs the proxy on a free port with the test's config and
// waits until it is alive.
func startLiteLLM(t *testing.T, bin, endpoint, token string) string {
	t.Helper()
	port := harness.FreePort(t)
	dir := filepath.Join(harness.Root, "test", "e2e", "testdata", "litellm")
	cmd := exec.Command(bin, "--config", filepath.Join(dir, "config.yaml"), "--host", "127.0.0.1", "--port", strconv.Itoa(port))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"GENERIC_LOGGER_ENDPOINT="+endpoint,
		"GENERIC_LOGGER_HEADERS=Authorization=Bearer "+token,
		"LITELLM_MASTER_KEY="+liteLLMKey,
		"PYTHONDONTWRITEBYTECODE=1",
	)
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	})
	url := "http://127.0.0.1:" + strconv.Itoa(port)
	require.Eventually(t, func() bool {
		resp, err := http.Get(url + "/health/liveliness")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 5*time.Minute, 500*time.Millisecond, "the LiteLLM proxy did not start:\n%s", &log)
	return url
}

// liteLLMKey is the proxy's master key in the test (LiteLLM refuses to
// start without one).
const liteLLMKey = "sk-policyaudit-e2e-master-key-0123456789abcdef"

// chat sends one chat completion through the proxy and returns the status
// and LiteLLM's call ID.
func chat(t *testing.T, proxy, prompt string) (int, string) {
	t.Helper()
	body := `{"model":"mock-gpt","messages":[{"role":"user","content":` + strconv.Quote(prompt) + `}]}`
	req, err := http.NewRequest(http.MethodPost, proxy+"/v1/chat/completions", bytes.NewReader([]byte(body)))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+liteLLMKey)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("x-litellm-call-id")
}
