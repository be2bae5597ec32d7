// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/policyaudit/policyaudit/test/harness"
)

// The raw values the PII policy (config/examples/pii.yaml) and the secret
// scrubbing must keep inside the collector.
var neverLeaves = []string{
	"user-12345", "user-777", "alice@example.com", // policy_user, hashed
	"carol@example.com", "dave@example.com", // actor.id, hashed
	"203.0.113.7",                              // actor.ip, blocked
	"sk-proj-4f9Qz7LmT2xV8bN1cR6yW3kH",         // an API key as api_key_id
	"ghp_0123456789abcdefghijABCDEFGHIJ012345", // an API key pasted into a detail
}

const piiLine = `{"policy_id":"pii-shield","decision":"deny","created_at":"2026-03-02T11:00:00Z","request_id":"pii-1","user":"alice@example.com","api_key_id":"sk-proj-4f9Qz7LmT2xV8bN1cR6yW3kH","note":"rotated ghp_0123456789abcdefghijABCDEFGHIJ012345 today","model":"gpt-4.1"}` + "\n"

// With pii.yaml on the all-destinations sidecar, no raw user ID, actor IP or
// API key reaches S3, Splunk HEC, Elasticsearch, Datadog, the audit store's
// files or the queues on disk, and the blocked field is absent everywhere.
func TestPIINeverLeavesTheCollector(t *testing.T) {
	d := harness.StartDestinations(t)
	s3, dd, hec := d.S3, d.DD, d.HEC
	env := append([]string{"POLICYAUDIT_PII_HASH_KEY=pii-hash-key-0123456789", "POLICYAUDIT_ID_KEY=id-key-0123456789abcdef"}, d.Env...)
	c := harness.StartCollector(t, env, harness.SidecarConfigs(filepath.Join(harness.Root, "config", "examples", "pii.yaml"))...)
	harness.PostFixtures(t, c.URL, "receiver-token")
	status, _, err := harness.Post(c.URL, "receiver-token", []byte(piiLine))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)

	n := len(harness.Expected(t, harness.AllFixtureRecords...)) + 1
	download := t.TempDir()
	var s3Lines []string
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(time.Second) {
		s3Lines, _ = s3.Download(t, "policy-audit", download)
		if len(s3Lines) >= n && len(hec.Events(t)) >= n && len(d.ESDocs()) >= n && len(dd.Logs()) >= n && len(c.ByCorrelation(t, "receiver-token", "pii-1")) == 1 {
			break
		}
		require.False(t, time.Now().After(deadline), "not every destination got the records:\n%s", c.Log)
	}

	outputs := map[string]string{"s3": strings.Join(s3Lines, "\n")}
	hecRaw, err := os.ReadFile(hec.OutputPath())
	require.NoError(t, err)
	outputs["splunk_hec"] = string(hecRaw)
	esRaw, _ := json.Marshal(d.ESDocs())
	outputs["elasticsearch"] = string(esRaw)
	ddRaw, _ := json.Marshal(dd.Logs())
	outputs["datadog"] = string(ddRaw)
	// The collector's own files: the audit store (database and WAL) and the
	// persistent queues.
	var local bytes.Buffer
	require.NoError(t, filepath.WalkDir(c.DataDir, func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		local.Write(b)
		return err
	}))
	outputs["local files"] = local.String()
	outputs["collector log"] = c.Log.String()

	for dest, out := range outputs {
		for _, raw := range neverLeaves {
			assert.NotContains(t, out, raw, "%s holds a raw value", dest)
		}
		if dest != "collector log" {
			assert.NotContains(t, out, `"ip"`, "%s: actor.ip is blocked", dest)
			assert.NotContains(t, out, `actor.ip`, "%s: actor.ip is blocked", dest)
		}
	}
	// The hashes are there instead, the same in every destination.
	rec := c.ByCorrelation(t, "receiver-token", "pii-1")[0]
	hashed := rec["policy_user"].(string)
	assert.Regexp(t, `^hmac-sha256:[0-9a-f]{64}$`, hashed)
	for _, dest := range []string{"s3", "splunk_hec", "elasticsearch", "datadog"} {
		assert.Contains(t, outputs[dest], hashed, dest)
	}
}
