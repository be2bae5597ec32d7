package harness

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
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
		body, err := os.ReadFile(filepath.Join(Root, "testdata", "fixtures", p.fixture))
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
