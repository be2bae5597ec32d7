// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package harness

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/policyaudit/policyaudit/internal/testfixtures"
)

// AllFixtureRecords are the expected canonical records of every fixture
// PostFixtures sends.
var AllFixtureRecords = []string{"gateway-flat.jsonl", "router-verdicts.jsonl", "admin-audit.jsonl", "opa-decision-logs.jsonl"}

// PostFixtures sends every fixture to its endpoint with a bearer token and
// requires each to be accepted.
func PostFixtures(t testing.TB, url, token string) {
	t.Helper()
	for _, p := range []struct{ path, contentType, fixture string }{
		{"/v1/decisions", "application/x-ndjson", "gateway-flat.ndjson"},
		{"/v1/decisions", "application/json", "router-verdicts.json"},
		{"/v1/audit", "application/x-ndjson", "admin-audit.ndjson"},
		{"/v1/opa/logs", "application/json", "opa-decision-logs.json"},
	} {
		body, err := os.ReadFile(filepath.Join(testfixtures.Dir, p.fixture))
		require.NoError(t, err)
		req, _ := http.NewRequest(http.MethodPost, url+p.path, bytes.NewReader(body))
		req.Header.Set("Content-Type", p.contentType)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, p.fixture)
	}
}

// Expected reads the expected canonical records (testdata/expected), one
// JSON line each.
func Expected(t testing.TB, names ...string) []string {
	t.Helper()
	var out []string
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(Root, "testdata", "expected", n))
		require.NoError(t, err)
		out = append(out, strings.Split(strings.TrimSpace(string(b)), "\n")...)
	}
	return out
}

// Decode parses one JSON object.
func Decode(t testing.TB, line string) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(line), &m), line)
	return m
}

// Decisions returns n decisions as NDJSON in the flat gateway dialect, with
// event IDs <prefix>-<i> for i in [from, from+n), spread over two UTC days.
func Decisions(prefix string, from, n int) []byte {
	var b bytes.Buffer
	verdicts := [...]string{"allow", "deny", "mask", "rewrite", "escalate"}
	for i := from; i < from+n; i++ {
		day := 16 + i%2
		fmt.Fprintf(&b, `{"event_id":"%s-%d","request_id":"%s-req-%d","created_at":"2026-01-%02dT%02d:%02d:%02d.%03dZ","policy_id":"policy-%d","policy_version":"v%d","decision":"%s","user":"user-%d","model":"gpt-4.1","project_id":"proj-%d"}`+"\n",
			prefix, i, prefix, i, day, i%24, i%60, (i/60)%60, i%1000, i%7, i%3, verdicts[i%len(verdicts)], i%500, i%11)
	}
	return b.Bytes()
}

// Post sends an NDJSON body to /v1/decisions with a bearer token and
// returns the status and the Retry-After header.
func Post(url, token string, body []byte) (int, string, error) {
	status, retryAfter, _, err := PostAnswer(url, token, body)
	return status, retryAfter, err
}

// PostAnswer is Post that also returns the answer's body.
func PostAnswer(url, token string, body []byte) (int, string, string, error) {
	return PostNDJSON(url+"/v1/decisions", token, body)
}

// PostNDJSON sends an NDJSON body to an endpoint with a bearer token and
// returns the status, the Retry-After header and the answer's body.
func PostNDJSON(endpoint, token string, body []byte) (int, string, string, error) {
	req, err := http.NewRequest(http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return 0, "", "", err
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", "", err
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, resp.Header.Get("Retry-After"), string(answer), nil
}
