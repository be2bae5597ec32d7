// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package siem

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/policyaudit/policyaudit/internal/testfixtures"
)

// dashboard is what the layout and query checks read of Grafana's
// dashboard JSON (the schema itself is Grafana's: TestGrafanaDashboard-
// SatisfiesGrafanasSchema).
type dashboard struct {
	UID    string `json:"uid"`
	Inputs []struct {
		Name string `json:"name"`
	} `json:"__inputs"`
	Templating struct {
		List []struct {
			Datasource datasource `json:"datasource"`
			Query      struct {
				Query string `json:"query"`
			} `json:"query"`
		} `json:"list"`
	} `json:"templating"`
	Annotations struct {
		List []struct {
			Datasource datasource `json:"datasource"`
			Target     struct {
				Expr string `json:"expr"`
			} `json:"target"`
		} `json:"list"`
	} `json:"annotations"`
	Panels []struct {
		ID         int                      `json:"id"`
		Type       string                   `json:"type"`
		Title      string                   `json:"title"`
		Datasource datasource               `json:"datasource"`
		GridPos    struct{ H, W, X, Y int } `json:"gridPos"`
		Targets    []struct {
			Datasource datasource `json:"datasource"`
			Expr       string     `json:"expr"`
		} `json:"targets"`
	} `json:"panels"`
}

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

// The Grafana dashboard satisfies Grafana's own published model
// (@grafana/schema's Dashboard, with the timeseries panel's options and the
// Prometheus query in place of the generic ones), compiled by tsc --strict:
// an unknown key or a value of the wrong type anywhere fails, as the
// check of a copy with one unknown key shows.
func TestGrafanaDashboardSatisfiesGrafanasSchema(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(prometheusDir, "grafana-dashboard.json"))
	require.NoError(t, err)
	var d map[string]any
	require.NoError(t, json.Unmarshal(b, &d))
	delete(d, "__inputs") // the import's header, not part of the model
	grafana := filepath.Join(testfixtures.Root, "test", "siem", "grafana")
	tsc := filepath.Join(grafana, "node_modules", "typescript", "bin", "tsc")
	_, err = os.Stat(tsc)
	require.NoError(t, err, "the TypeScript compiler and @grafana/schema: make tools installs them in test/siem/grafana")
	check := func(d map[string]any) (string, error) {
		literal, err := json.MarshalIndent(d, "", "  ")
		require.NoError(t, err)
		dir := t.TempDir()
		src := fmt.Sprintf("import type { PrometheusDashboard } from %q;\nexport const dashboard = %s satisfies PrometheusDashboard;\n",
			strings.TrimSuffix(filepath.Join(grafana, "schema.ts"), ".ts"), literal)
		file := filepath.Join(dir, "dashboard.ts")
		require.NoError(t, os.WriteFile(file, []byte(src), 0o644))
		out, err := exec.Command("node", tsc, "--noEmit", "--strict", "--moduleResolution", "bundler", "--module", "esnext", "--target", "es2022", file).CombinedOutput()
		return string(out), err
	}
	out, err := check(d)
	require.NoError(t, err, "tsc:\n%s", out)

	panel := d["panels"].([]any)[0].(map[string]any)
	panel["maxDataPionts"] = 100
	out, err = check(d)
	require.Error(t, err, "a misspelt key passed the schema")
	assert.Contains(t, out, "maxDataPionts")
}

// The Grafana dashboard lays its panels out on the 24-column grid without
// overlap, takes its data source from the one input an import asks for,
// and every PromQL query in it (panels, the policy variable's, the
// annotations') parses in promtool.
func TestGrafanaDashboardLoadsAndItsQueriesParse(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(prometheusDir, "grafana-dashboard.json"))
	require.NoError(t, err)
	var d dashboard
	require.NoError(t, json.Unmarshal(b, &d))
	require.NotEmpty(t, d.UID)
	require.NotEmpty(t, d.Panels)
	require.Len(t, d.Inputs, 1)
	ds := "${" + d.Inputs[0].Name + "}"

	var exprs []string
	ids := map[int]bool{}
	type cell struct{ x, y int }
	taken := map[cell]int{}
	for _, p := range d.Panels {
		assert.False(t, ids[p.ID], "panel id %d twice", p.ID)
		ids[p.ID] = true
		assert.Equal(t, "timeseries", p.Type, p.Title)
		assert.Equal(t, ds, p.Datasource.UID, p.Title)
		assert.True(t, p.GridPos.W > 0 && p.GridPos.H > 0 && p.GridPos.X+p.GridPos.W <= 24, "%s: %+v off the grid", p.Title, p.GridPos)
		for x := p.GridPos.X; x < p.GridPos.X+p.GridPos.W; x++ {
			for y := p.GridPos.Y; y < p.GridPos.Y+p.GridPos.H; y++ {
				if other, ok := taken[cell{x, y}]; ok {
					t.Errorf("panels %d and %d overlap", other, p.ID)
				}
				taken[cell{x, y}] = p.ID
			}
		}
		require.NotEmpty(t, p.Targets, p.Title)
		for _, tg := range p.Targets {
			assert.Equal(t, ds, tg.Datasource.UID)
			exprs = append(exprs, tg.Expr)
		}
	}
	for _, a := range d.Annotations.List {
		assert.Equal(t, ds, a.Datasource.UID)
		exprs = append(exprs, a.Target.Expr)
	}
	for _, v := range d.Templating.List {
		assert.Equal(t, ds, v.Datasource.UID)
		assert.True(t, strings.HasPrefix(v.Query.Query, "label_values(policyaudit_decisions_total, "), v.Query.Query)
	}

	// Grafana's variables as a query sees them, then promtool parses each
	// as a recording rule.
	var rules strings.Builder
	rules.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	for i, e := range exprs {
		e = strings.NewReplacer("$__rate_interval", "5m", "$policy", ".*").Replace(e)
		q, _ := json.Marshal(e)
		fmt.Fprintf(&rules, "      - record: dashboard:query_%d\n        expr: %s\n", i, q)
	}
	path := filepath.Join(t.TempDir(), "dashboard-queries.yaml")
	require.NoError(t, os.WriteFile(path, []byte(rules.String()), 0o644))
	out := promtool(t, "check", "rules", path)
	assert.Contains(t, out, fmt.Sprintf("SUCCESS: %d rules found", len(exprs)))
}
