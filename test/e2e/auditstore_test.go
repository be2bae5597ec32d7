// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"encoding/json"
	"github.com/policyaudit/policyaudit/test/harness"
	"net/http"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A user who runs the default finds a posted decision in the embedded audit
// store by correlation ID and by policy version, without any SIEM; after the
// collector stops, the offline command verifies the database it left.
func TestEmbeddedAuditStoreAnswersQueries(t *testing.T) {
	c := harness.StartDefault(t)
	for _, p := range []struct{ path, contentType, fixture string }{
		{"/v1/decisions", "application/x-ndjson", "gateway-flat.ndjson"},
		{"/v1/decisions", "application/json", "router-verdicts.json"},
		{"/v1/audit", "application/x-ndjson", "admin-audit.ndjson"},
	} {
		status, answer := postFile(t, c.URL+p.path, p.contentType, false, p.fixture)
		require.Equal(t, http.StatusOK, status, answer)
	}

	var found []map[string]any
	require.Eventually(t, func() bool {
		found = c.QueryRecords(t, "", "/api/v1/decisions?correlation_id=req-shadow-1")
		return len(found) == 1
	}, 30*time.Second, 200*time.Millisecond, "the record did not reach the audit store:\n%s", c.Log)
	assert.Equal(t, "deny", found[0]["decision"])
	assert.Equal(t, "allow", found[0]["effective_decision"])
	assert.Equal(t, "shadow", found[0]["rollout_mode"])

	byVersion := c.QueryRecords(t, "", "/api/v1/decisions?policy_id=prompt-injection&policy_version=2026-03-01.2&since=2026-03-02&until=2026-03-03")
	require.Len(t, byVersion, 2)
	assert.Equal(t, "c0ffee00-0000-4000-8000-000000000004", byVersion[0]["correlation_id"], "newest first")

	// "who changed that policy": the admin event that produced the version.
	// Each request is stored on its own (no batch processor gathers them):
	// the admin events may land a moment after the decisions.
	var changes []map[string]any
	assert.Eventually(t, func() bool {
		changes = c.QueryRecords(t, "", "/admin/api/v1/audit?days=3650&limit=50")
		for _, e := range changes {
			if e["action"] == "policy.update" && e["policy_version"] == "2026-03-01.2" {
				return true
			}
		}
		return false
	}, 30*time.Second, 200*time.Millisecond, "the admin event that produced the version")

	// Replaying the same batch stores nothing twice.
	status, _ := postFile(t, c.URL+"/v1/decisions", "application/x-ndjson", false, "gateway-flat.ndjson")
	require.Equal(t, http.StatusOK, status)
	time.Sleep(2 * time.Second)
	assert.Len(t, c.QueryRecords(t, "", "/api/v1/decisions?limit=1000"), 9)

	resp, err := http.Get(c.Query + "/api/v1/verify")
	require.NoError(t, err)
	var rep map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&rep))
	resp.Body.Close()
	assert.Equal(t, true, rep["ok"])
	assert.Equal(t, float64(12), rep["records"])

	c.Stop(t)
	cli := exec.Command("go", "run", "../../cmd/policyaudit", "verify", filepath.Join(c.DataDir, "audit.db"))
	out, err := cli.CombinedOutput()
	require.NoError(t, err, string(out))
	assert.Contains(t, string(out), "ok: 12 records, seq 1 to 12")
}
