// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package siem

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/policyaudit/policyaudit/connector/decisionmetricsconnector"
	"github.com/policyaudit/policyaudit/internal/auditstore"
	"github.com/policyaudit/policyaudit/internal/gatewaysim"
	"github.com/policyaudit/policyaudit/test/harness"
)

// The seeds' story on the simulator's traffic: two hours of its gateways
// with the prompt-injection policy tightened at the first hour (gatewaysim
// -edit), through the shipped sidecar (auditstore.yaml) into its store.
// The stored records, minute by minute of their created_at, go through the
// decisionmetrics connector, and its cumulative counts are the series
// promtool evaluates the shipped rules on: PolicyDenySpikeAfterChange
// fires for prompt-injection within twenty minutes of the edit, and not
// before the edit (the story changes one policy only: the rule tests of
// policyaudit-rules.test.yaml are where another policy's change is tried).
func TestTheSpikeRuleFiresOnTheSimulatorsEdit(t *testing.T) {
	examples := filepath.Join(harness.Root, "config", "examples")
	c := harness.StartCollector(t, []string{"POLICYAUDIT_RECEIVER_TOKEN=" + harness.ReceiverToken, harness.NewSigningKey(t).Env()},
		filepath.Join(examples, "common.yaml"), filepath.Join(examples, "auditstore.yaml"))
	start := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	const records, minutes, editAt = 24000, 120, 60
	gen := gatewaysim.NewGenerator(5, start, minutes*time.Minute, records)
	gen.Edit(editAt * time.Minute)
	rep, err := gatewaysim.Run(context.Background(), gen, gatewaysim.Options{URL: c.URL, Token: harness.ReceiverToken, Records: records, Batch: 500, Workers: 4})
	require.NoError(t, err)
	require.Equal(t, records, rep.Accepted, rep.String())
	require.Eventually(t, func() bool { return storedRecords(t, c) == records }, 60*time.Second, 250*time.Millisecond)
	c.Stop(t)

	byMinute := make([]plog.Logs, minutes+1)
	for i := range byMinute {
		byMinute[i] = plog.NewLogs()
	}
	st, err := auditstore.Open(context.Background(), filepath.Join(c.DataDir, "audit.db"))
	require.NoError(t, err)
	require.NoError(t, st.Walk(context.Background(), func(r auditstore.Row) error {
		var rec map[string]any
		if err := json.Unmarshal(r.Record, &rec); err != nil {
			return err
		}
		created, err := time.Parse(time.RFC3339Nano, rec["created_at"].(string))
		if err != nil {
			return err
		}
		m := min(max(int(created.Sub(start)/time.Minute), 0), minutes)
		lr := byMinute[m].ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
		return lr.Body().SetEmptyMap().FromRaw(rec)
	}))
	require.NoError(t, st.Close())

	series := cumulativeSeries(t, byMinute)
	dir := t.TempDir()
	test := promtoolTest(series, minutes, map[int]string{editAt - 5: "", editAt + 20: gatewaysim.EditedPolicy})
	path := filepath.Join(dir, "simulator.test.yaml")
	require.NoError(t, os.WriteFile(path, []byte(test), 0o644))
	out := promtool(t, "test", "rules", path)
	require.Contains(t, out, "SUCCESS")
	t.Logf("promtool: PolicyDenySpikeAfterChange fired for %s at %dm (the edit at %dm) over %d series of %d records", gatewaysim.EditedPolicy, editAt+20, editAt, len(series), records)
}

func storedRecords(t *testing.T, c *harness.Collector) int {
	req, err := http.NewRequest(http.MethodGet, c.Query+"/api/v1/verify", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+harness.ReceiverToken)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var rep struct{ Records int }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&rep))
	return rep.Records
}

// cumulativeSeries runs the records of minutes 0..m through a fresh
// decisionmetrics connector for each minute m and reads its counts: each
// series (in promtool's notation) and its value at every minute (-1
// before it appears).
func cumulativeSeries(t *testing.T, byMinute []plog.Logs) map[string][]float64 {
	out := map[string][]float64{}
	factory := decisionmetricsconnector.NewFactory()
	for m := range byMinute {
		sink := new(consumertest.MetricsSink)
		conn, err := factory.CreateLogsToMetrics(context.Background(), connectortest.NewNopSettings(factory.Type()), factory.CreateDefaultConfig(), sink)
		require.NoError(t, err)
		require.NoError(t, conn.Start(context.Background(), componenttest.NewNopHost()))
		for _, ld := range byMinute[:m+1] {
			require.NoError(t, conn.ConsumeLogs(context.Background(), ld))
		}
		require.NoError(t, conn.Shutdown(context.Background()))
		require.Len(t, sink.AllMetrics(), 1)
		md := sink.AllMetrics()[0]
		for _, rm := range md.ResourceMetrics().All() {
			for _, sm := range rm.ScopeMetrics().All() {
				for _, metric := range sm.Metrics().All() {
					name := strings.ReplaceAll(metric.Name(), ".", "_") + "_total"
					for _, dp := range metric.Sum().DataPoints().All() {
						var labels []string
						for k, v := range dp.Attributes().All() {
							if v.Str() != "" {
								labels = append(labels, fmt.Sprintf("%s=%q", k, v.Str()))
							}
						}
						sort.Strings(labels)
						key := name + "{" + strings.Join(labels, ",") + "}"
						if out[key] == nil {
							out[key] = make([]float64, len(byMinute))
							for i := range out[key] {
								out[key][i] = -1
							}
						}
						out[key][m] = float64(dp.IntValue())
					}
				}
			}
		}
	}
	return out
}

// promtoolTest is a promtool test of the shipped rules on series, with
// PolicyDenySpikeAfterChange expected for the policy of each evaluation
// minute ("" expects none).
func promtoolTest(series map[string][]float64, minutes int, expect map[int]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "rule_files:\n  - %s\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n    input_series:\n", filepath.Join(prometheusDir, "policyaudit-rules.yaml"))
	keys := make([]string, 0, len(series))
	for k := range series {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		values := make([]string, 0, minutes+1)
		for _, v := range series[k] {
			if v < 0 {
				values = append(values, "_")
			} else {
				values = append(values, fmt.Sprint(v))
			}
		}
		q, _ := json.Marshal(k)
		fmt.Fprintf(&b, "      - series: %s\n        values: '%s'\n", q, strings.Join(values, " "))
	}
	b.WriteString("    alert_rule_test:\n")
	evals := make([]int, 0, len(expect))
	for m := range expect {
		evals = append(evals, m)
	}
	sort.Ints(evals)
	for _, m := range evals {
		fmt.Fprintf(&b, "      - eval_time: %dm\n        alertname: PolicyDenySpikeAfterChange\n", m)
		policy := expect[m]
		if policy == "" {
			b.WriteString("        exp_alerts: []\n")
			continue
		}
		fmt.Fprintf(&b, `        exp_alerts:
          - exp_labels:
              severity: warning
              policy_id: %[1]s
            exp_annotations:
              summary: Denials under policy %[1]s rose sharply within an hour of a change to it
              description: >-
                Find the change with policyaudit_admin_events_total{policy_id="%[1]s"}, and the records
                in the audit store: GET /admin/api/v1/audit, or the console's timeline of the policy.
`, policy)
	}
	return b.String()
}
