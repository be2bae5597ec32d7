// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"

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

// metrics-otlp.yaml over auditstore.yaml: the same counts reach an OTLP/HTTP
// metrics endpoint, as cumulative monotonic sums.
func TestDecisionMetricsReachAnOTLPBackend(t *testing.T) {
	got := make(chan pmetric.Metrics, 100)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" { // otlphttp's default
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			in = zr
		}
		body, _ := io.ReadAll(in)
		req := pmetricotlp.NewExportRequest()
		if r.URL.Path != "/v1/metrics" || req.UnmarshalProto(body) != nil {
			http.Error(w, "not an OTLP metrics request", http.StatusBadRequest)
			return
		}
		got <- req.Metrics()
		resp, _ := pmetricotlp.NewExportResponse().MarshalProto()
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(resp)
	}))
	defer backend.Close()
	examples := filepath.Join(harness.Root, "config", "examples")
	c := harness.StartCollector(t, []string{"POLICYAUDIT_RECEIVER_TOKEN=" + token, harness.NewSigningKey(t).Env(), "POLICYAUDIT_OTLP_METRICS_ENDPOINT=" + backend.URL},
		filepath.Join(examples, "common.yaml"), filepath.Join(examples, "auditstore.yaml"), filepath.Join(examples, "metrics-otlp.yaml"))
	status, body, err := harness.Post(c.URL, token, harness.Decisions("otlp", 1, 10))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status, body)

	deadline := time.After(30 * time.Second)
	for {
		select {
		case md := <-got:
			var n int64
			for _, rm := range md.ResourceMetrics().All() {
				for _, sm := range rm.ScopeMetrics().All() {
					for _, m := range sm.Metrics().All() {
						if m.Name() != "policyaudit.decisions" {
							continue
						}
						require.True(t, m.Sum().IsMonotonic())
						require.Equal(t, pmetric.AggregationTemporalityCumulative, m.Sum().AggregationTemporality())
						for _, dp := range m.Sum().DataPoints().All() {
							n += dp.IntValue()
						}
					}
				}
			}
			if n == 10 {
				return
			}
		case <-deadline:
			t.Fatalf("the OTLP backend never got the 10 decisions:\n%s", c.Log)
		}
	}
}
