// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/policyaudit/policyaudit/internal/gatewaysim"
	"github.com/policyaudit/policyaudit/test/harness"
)

// make demo's traffic (an hour of the simulator's gateways with a policy
// edited half way) into the embedded default: the decision metrics on its
// Prometheus endpoint are the audit store's counts, verdict by verdict,
// mode by mode and version by version; the edit is counted under the
// policy it changed; no user or correlation ID is a label.
func TestDecisionMetricsAreTheStoresCounts(t *testing.T) {
	c := harness.StartDefault(t)
	const records = 12000
	gen := gatewaysim.NewGenerator(11, time.Date(2026, 12, 5, 14, 0, 0, 0, time.UTC), time.Hour, records)
	gen.Edit(30 * time.Minute)
	rep, err := gatewaysim.Run(context.Background(), gen, gatewaysim.Options{URL: c.URL, Records: records, Batch: 500, Workers: 4})
	require.NoError(t, err)
	require.Equal(t, records, rep.Accepted, rep.String())
	waitStored(t, c, records)

	stats := apiJSON(t, c.Query+"/api/v1/stats?since=2000-01-01T00:00:00Z")
	total := stats["total"].(float64)
	require.Positive(t, total)
	var samples []harness.Sample
	require.Eventually(t, func() bool {
		samples = harness.Scrape(t, c.DecisionMetrics)
		return harness.Sum(samples, "policyaudit_decisions_total") == total
	}, 30*time.Second, 500*time.Millisecond, "the decision metrics never added up to the store's %v decisions", total)
	for label, field := range map[string]string{"decision": "decision", "rollout_mode": "rollout_mode", "policy_version": "policy_version"} {
		for value, n := range stats[field].(map[string]any) {
			assert.Equal(t, n, harness.Sum(samples, "policyaudit_decisions_total", label, value), "%s=%s", label, value)
		}
	}
	assert.Equal(t, 1.0, harness.Sum(samples, "policyaudit_admin_events_total", "action", "policy.update", "policy_id", gatewaysim.EditedPolicy),
		"the edit is counted under the policy it changed")

	series := 0
	for _, s := range samples {
		if s.Name != "policyaudit_decisions_total" && s.Name != "policyaudit_admin_events_total" {
			continue
		}
		series++
		for _, never := range []string{"policy_user", "user", "correlation_id", "api_key_id", "event_id"} {
			assert.NotContains(t, s.Labels, never, "%s is a label of %v", never, s)
		}
	}
	t.Logf("%v decisions and %d admin events of the simulator's traffic in %d series", total, records-int(total), series)
}
