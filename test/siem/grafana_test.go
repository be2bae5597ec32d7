// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package siem

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// dashboard is the part of Grafana's dashboard JSON model (schemaVersion
// 39) the file uses; decoding refuses any other key, so a misspelt or
// misplaced one fails.
type dashboard struct {
	Title         string                    `json:"title"`
	UID           string                    `json:"uid"`
	Description   string                    `json:"description"`
	Tags          []string                  `json:"tags"`
	Timezone      string                    `json:"timezone"`
	Editable      bool                      `json:"editable"`
	GraphTooltip  int                       `json:"graphTooltip"`
	SchemaVersion int                       `json:"schemaVersion"`
	Version       int                       `json:"version"`
	Time          struct{ From, To string } `json:"time"`
	Refresh       string                    `json:"refresh"`
	Inputs        []input                   `json:"__inputs"`
	Templating    struct {
		List []variable `json:"list"`
	} `json:"templating"`
	Annotations struct {
		List []annotation `json:"list"`
	} `json:"annotations"`
	Panels []panel `json:"panels"`
}

type input struct {
	Name, Label, Type, PluginID, PluginName string
}

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type variable struct {
	Name       string     `json:"name"`
	Label      string     `json:"label"`
	Type       string     `json:"type"`
	Datasource datasource `json:"datasource"`
	Query      struct {
		Query string `json:"query"`
		RefID string `json:"refId"`
	} `json:"query"`
	Definition string                       `json:"definition"`
	IncludeAll bool                         `json:"includeAll"`
	Multi      bool                         `json:"multi"`
	AllValue   string                       `json:"allValue"`
	Current    struct{ Text, Value string } `json:"current"`
	Refresh    int                          `json:"refresh"`
	Sort       int                          `json:"sort"`
}

type annotation struct {
	Name        string     `json:"name"`
	Enable      bool       `json:"enable"`
	IconColor   string     `json:"iconColor"`
	Datasource  datasource `json:"datasource"`
	Expr        string     `json:"expr"`
	TitleFormat string     `json:"titleFormat"`
	TextFormat  string     `json:"textFormat"`
	Step        string     `json:"step"`
}

type panel struct {
	ID          int                      `json:"id"`
	Type        string                   `json:"type"`
	Title       string                   `json:"title"`
	Description string                   `json:"description"`
	Datasource  datasource               `json:"datasource"`
	GridPos     struct{ H, W, X, Y int } `json:"gridPos"`
	FieldConfig struct {
		Defaults struct {
			Unit   string `json:"unit"`
			Custom struct {
				DrawStyle   string                `json:"drawStyle"`
				Stacking    struct{ Mode string } `json:"stacking"`
				FillOpacity int                   `json:"fillOpacity"`
			} `json:"custom"`
		} `json:"defaults"`
		Overrides []json.RawMessage `json:"overrides"`
	} `json:"fieldConfig"`
	Options struct {
		Legend struct {
			DisplayMode string `json:"displayMode"`
			Placement   string `json:"placement"`
			ShowLegend  bool   `json:"showLegend"`
		} `json:"legend"`
		Tooltip struct{ Mode, Sort string } `json:"tooltip"`
	} `json:"options"`
	Targets []struct {
		RefID        string     `json:"refId"`
		Datasource   datasource `json:"datasource"`
		Expr         string     `json:"expr"`
		LegendFormat string     `json:"legendFormat"`
	} `json:"targets"`
}

// The Grafana dashboard decodes into Grafana's dashboard model with no
// unknown key, lays its panels out on the 24-column grid without overlap,
// takes its data source from the one input an import asks for, and every
// PromQL query in it (panels, the policy variable's, the annotations')
// parses in promtool.
func TestGrafanaDashboardLoadsAndItsQueriesParse(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(prometheusDir, "grafana-dashboard.json"))
	require.NoError(t, err)
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var d dashboard
	require.NoError(t, dec.Decode(&d))
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
		exprs = append(exprs, a.Expr)
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
