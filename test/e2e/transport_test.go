// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/policyaudit/policyaudit/test/harness"
)

// The sidecar with tls.yaml: the receiver and the audit store's query API
// speak only TLS, and neither lets a request without the bearer token in.
func TestTLSAndBearerTokenOnReceiverAndQueryAPI(t *testing.T) {
	certFile, keyFile, client := harness.SelfSignedCert(t)
	examples := filepath.Join(harness.Root, "config", "examples")
	c := harness.StartCollector(t, []string{
		"POLICYAUDIT_RECEIVER_TOKEN=receiver-token",
		"POLICYAUDIT_TLS_CERT_FILE=" + certFile,
		"POLICYAUDIT_TLS_KEY_FILE=" + keyFile,
		harness.NewSigningKey(t).Env(),
	}, filepath.Join(examples, "common.yaml"), filepath.Join(examples, "auditstore.yaml"), filepath.Join(examples, "tls.yaml"))
	receiver := strings.Replace(c.URL, "http://", "https://", 1)
	query := strings.Replace(c.Query, "http://", "https://", 1)
	line := `{"policy_id":"p","decision":"deny","created_at":"2026-03-02T11:00:00Z","request_id":"tls-1"}`

	send := func(client *http.Client, url, token string) (int, error) {
		req, _ := http.NewRequest(http.MethodPost, url+"/v1/decisions", strings.NewReader(line))
		req.Header.Set("Content-Type", "application/x-ndjson")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	status, err := send(client, receiver, "")
	require.NoError(t, err)
	assert.Equal(t, http.StatusUnauthorized, status, "no token")
	status, err = send(client, receiver, "wrong")
	require.NoError(t, err)
	assert.Equal(t, http.StatusUnauthorized, status, "a wrong token")
	if status, err := send(http.DefaultClient, c.URL, "receiver-token"); err == nil {
		assert.Equal(t, http.StatusBadRequest, status, "plain HTTP on the TLS port")
	}
	status, err = send(client, receiver, "receiver-token")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)

	get := func(token string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, query+"/api/v1/decisions?correlation_id=tls-1", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(body)
	}
	status, _ = get("")
	assert.Equal(t, http.StatusUnauthorized, status, "the query API wants the token too")
	require.Eventually(t, func() bool {
		status, body := get("receiver-token")
		return status == http.StatusOK && strings.Contains(body, `"correlation_id":"tls-1"`)
	}, 20*time.Second, 200*time.Millisecond, "only the authenticated record is stored:\n%s", c.Log)
	_, body := get("receiver-token")
	assert.Equal(t, 1, strings.Count(body, `"event_id"`), "the refused requests stored nothing")
}
