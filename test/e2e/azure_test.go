// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/policyaudit/policyaudit/test/harness"
	"github.com/policyaudit/policyaudit/test/peers/azure"
)

// startAzure runs the shipped Azure example (common.yaml + azure.yaml)
// against the Azure contract peer, which holds the DCR deploy/azure
// declares. There is no Azure here: the peer plays Entra ID's token
// endpoint and the Logs Ingestion API as Microsoft documents them.
func startAzure(t *testing.T) (*azure.Server, *harness.Collector, []string) {
	t.Helper()
	streams, err := azure.StreamsFromTemplate(filepath.Join(harness.Root, "deploy", "azure", "policyaudit.json"))
	require.NoError(t, err)
	p, err := azure.Start(t.TempDir(), streams)
	require.NoError(t, err)
	t.Cleanup(p.Close)
	env := []string{
		"POLICYAUDIT_RECEIVER_TOKEN=" + harness.ReceiverToken,
		"AZURE_LOGS_INGESTION_ENDPOINT=" + p.URL, "AZURE_DCR_IMMUTABLE_ID=" + p.RuleID,
		"AZURE_TENANT_ID=" + p.Tenant, "AZURE_CLIENT_ID=" + p.ClientID, "AZURE_CLIENT_SECRET=" + p.Secret,
		"AZURE_AUTHORITY_HOST=" + p.URL + "/", "AZURE_CA_FILE=" + p.CAFile,
	}
	configs := []string{
		filepath.Join(harness.Root, "config", "examples", "common.yaml"),
		filepath.Join(harness.Root, "config", "examples", "azure.yaml"),
		filepath.Join(harness.Root, "test", "harness", "testdata", "azure-peer.yaml"),
	}
	return p, harness.StartCollector(t, env, configs...), configs
}

// azureRows gathers both streams' rows by CorrelationId.
func azureRows(p *azure.Server) (byCorrelation map[string][]map[string]any, total int) {
	byCorrelation = map[string][]map[string]any{}
	for _, stream := range []string{"Custom-PolicyAuditDecisions", "Custom-PolicyAuditAdmin"} {
		for _, row := range p.Rows(stream) {
			cid, _ := row["CorrelationId"].(string)
			byCorrelation[cid] = append(byCorrelation[cid], row)
			total++
		}
	}
	return byCorrelation, total
}

// Every fixture record, of every dialect and both kinds, arrives in its
// table's stream and is found by its CorrelationId, typed as the DCR
// declares; verify prints the KQL that finds it in Sentinel.
func TestAzureEveryFixtureRecordByCorrelationID(t *testing.T) {
	p, c, configs := startAzure(t)
	harness.PostFixtures(t, c.URL, harness.ReceiverToken)
	want := harness.Expected(t, harness.AllFixtureRecords...)
	require.Eventually(t, func() bool { _, n := azureRows(p); return n >= len(want) }, 30*time.Second, 100*time.Millisecond, c.Log)
	rows, total := azureRows(p)
	assert.Equal(t, len(want), total, "each record once")
	for _, line := range want {
		rec := harness.Decode(t, line)
		cid := rec["correlation_id"].(string)
		found := false
		for _, row := range rows[cid] {
			if row["EventId"] == rec["event_id"] {
				found = true
				assert.Equal(t, rec["created_at"], row["TimeGenerated"], cid)
				if rec["event_kind"] == "policy_decision" {
					assert.Equal(t, rec["decision"], row["Decision"], cid)
					assert.Equal(t, rec["enforced"], row["Enforced"], cid)
				} else {
					assert.Equal(t, rec["action"], row["Action"], cid)
				}
			}
		}
		assert.True(t, found, "%s (%s) not in Azure", cid, rec["event_id"])
	}
	assert.Empty(t, p.Violations())

	rec := harness.Decode(t, want[0])
	args := []string{"run", "../../cmd/policyaudit", "verify", "--correlation-id", rec["correlation_id"].(string)}
	for _, f := range configs {
		args = append(args, "--config", f)
	}
	out, err := exec.Command("go", args...).CombinedOutput()
	require.NoError(t, err, string(out))
	assert.Contains(t, string(out), `union PolicyAuditDecisions_CL, PolicyAuditAdmin_CL | where CorrelationId == "`+rec["correlation_id"].(string)+`"`)
}

// A throttling storm, then a two-minute outage of the ingestion endpoint
// while records arrive: the persistent queue holds them, 429's Retry-After
// is honoured, and once Azure answers again every record is there once.
func TestAzureThrottlingAndAnOutageLoseNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("a two-minute outage")
	}
	p, c, _ := startAzure(t)
	p.Throttle(20)
	post(t, c, "storm", 0, 3000)
	require.Eventually(t, func() bool { _, n := azureRows(p); return n >= 3000 }, time.Minute, 200*time.Millisecond, c.Log)
	_, throttled := p.Calls()
	assert.Equal(t, 20, throttled)

	p.SetDown(true)
	start, sent := time.Now(), 0
	for time.Since(start) < 2*time.Minute {
		post(t, c, "outage", sent, 500)
		sent += 500
		time.Sleep(5 * time.Second)
	}
	p.SetDown(false)
	require.Eventually(t, func() bool { _, n := azureRows(p); return n >= 3000+sent }, 2*time.Minute, 500*time.Millisecond, c.Log)
	rows, total := azureRows(p)
	assert.Equal(t, 3000+sent, total, "each record once")
	assert.Len(t, rows, 3000+sent, "every correlation ID")
	assert.Empty(t, p.Violations())
}

// post sends n flat decisions with correlation IDs prefix-from..from+n.
func post(t *testing.T, c *harness.Collector, prefix string, from, n int) {
	t.Helper()
	status, body, err := harness.Post(c.URL, harness.ReceiverToken, harness.Decisions(prefix, from, n))
	require.NoError(t, err)
	require.Equal(t, 200, status, body)
}
