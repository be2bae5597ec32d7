// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package siem

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/policyaudit/policyaudit/internal/record"
	"github.com/policyaudit/policyaudit/internal/testfixtures"
)

var datadogDir = filepath.Join(testfixtures.Root, "deploy", "siem", "datadog")

// datadogDashboard is the part of Datadog's dashboard API body (v1) the
// file uses; decoding refuses any other key.
type datadogDashboard struct {
	Title             string `json:"title"`
	Description       string `json:"description"`
	LayoutType        string `json:"layout_type"`
	ReflowType        string `json:"reflow_type"`
	TemplateVariables []struct {
		Name            string   `json:"name"`
		Prefix          string   `json:"prefix"`
		AvailableValues []string `json:"available_values"`
		Default         string   `json:"default"`
	} `json:"template_variables"`
	Widgets []struct {
		Definition struct {
			Type         string `json:"type"`
			Title        string `json:"title"`
			ShowLegend   bool   `json:"show_legend"`
			LegendLayout string `json:"legend_layout"`
			Requests     []struct {
				ResponseFormat string `json:"response_format"`
				DisplayType    string `json:"display_type"`
				Queries        []struct {
					DataSource string   `json:"data_source"`
					Name       string   `json:"name"`
					Indexes    []string `json:"indexes"`
					Compute    struct {
						Aggregation string `json:"aggregation"`
					} `json:"compute"`
					Search struct {
						Query string `json:"query"`
					} `json:"search"`
					GroupBy []struct {
						Facet string `json:"facet"`
						Limit int    `json:"limit"`
						Sort  struct {
							Aggregation string `json:"aggregation"`
							Order       string `json:"order"`
						} `json:"sort"`
					} `json:"group_by"`
				} `json:"queries"`
				Formulas []struct {
					Formula string `json:"formula"`
					Limit   *struct {
						Count int    `json:"count"`
						Order string `json:"order"`
					} `json:"limit"`
				} `json:"formulas"`
				Query *struct {
					DataSource  string   `json:"data_source"`
					QueryString string   `json:"query_string"`
					Indexes     []string `json:"indexes"`
				} `json:"query"`
				Columns []struct {
					Field string `json:"field"`
					Width string `json:"width"`
				} `json:"columns"`
			} `json:"requests"`
		} `json:"definition"`
	} `json:"widgets"`
}

// datadogAttributes are what a log search may name: @ and a canonical
// field's path (the record's fields are the log's attributes), the tags the
// processor sets, and Datadog's reserved attributes.
func datadogAttributes() (attrs []string, tags []string) {
	for _, k := range []record.Kind{record.KindDecision, record.KindAdmin} {
		for _, f := range record.FieldsOf(k) {
			attrs = append(attrs, "@"+f.Name)
			for _, s := range f.Subfields {
				attrs = append(attrs, "@"+f.Name+"."+s.Name)
			}
		}
	}
	return attrs, []string{"source", "service", record.FieldDecision, record.FieldPolicyID, record.FieldRolloutMode, record.FieldAction, record.FieldOutcome}
}

// checkLogSearch holds a Datadog log search to the record's attributes and
// the processor's tags and source.
func checkLogSearch(t *testing.T, where, query string) {
	attrs, tags := datadogAttributes()
	for _, m := range regexp.MustCompile(`@[\w.]+`).FindAllString(query, -1) {
		assert.Contains(t, attrs, m, "%s: %q names an attribute the logs do not have", where, query)
	}
	for _, m := range regexp.MustCompile(`(?:^|[\s(])([a-z_]+):`).FindAllStringSubmatch(query, -1) {
		assert.Contains(t, tags, m[1], "%s: %q names a tag the logs do not have", where, query)
	}
	assert.Contains(t, query, "source:policy-gateway", "%s: the processor's Datadog source", where)
}

// The dashboard is a body Datadog's dashboards API takes (no unknown key,
// known widget types, each formula naming a query of its request), and
// every attribute, facet and tag it searches or shows is the logs'.
func TestDatadogDashboardNamesOnlyTheLogsAttributes(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(datadogDir, "dashboard.json"))
	require.NoError(t, err)
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var d datadogDashboard
	require.NoError(t, dec.Decode(&d))
	assert.Contains(t, []string{"ordered", "free"}, d.LayoutType)
	attrs, _ := datadogAttributes()
	for _, v := range d.TemplateVariables {
		assert.Contains(t, attrs, v.Prefix)
	}
	require.NotEmpty(t, d.Widgets)
	for _, w := range d.Widgets {
		def := w.Definition
		assert.Contains(t, []string{"timeseries", "toplist", "list_stream", "query_value", "sunburst"}, def.Type, def.Title)
		require.NotEmpty(t, def.Requests, def.Title)
		for _, r := range def.Requests {
			names := map[string]bool{}
			for _, q := range r.Queries {
				assert.Equal(t, "logs", q.DataSource)
				names[q.Name] = true
				checkLogSearch(t, def.Title, strings.ReplaceAll(q.Search.Query, "$policy", ""))
				for _, g := range q.GroupBy {
					assert.Contains(t, attrs, g.Facet, def.Title)
				}
			}
			for _, f := range r.Formulas {
				assert.True(t, names[f.Formula], "%s: formula %s names no query of its request", def.Title, f.Formula)
			}
			if r.Query != nil {
				checkLogSearch(t, def.Title, r.Query.QueryString)
				for _, c := range r.Columns {
					if c.Field != "timestamp" {
						assert.Contains(t, attrs, c.Field, def.Title)
					}
				}
			}
		}
	}
}

// The monitors are bodies Datadog's monitors API takes: log alerts whose
// query is a log monitor query (logs(search).index().rollup().by().last()
// with a comparison) with the critical threshold of its options, each
// search held to the logs' attributes and tags; the composite names the
// two log monitors it joins by their names' placeholders, which the
// README's commands replace with their IDs.
func TestDatadogMonitorsAreLogMonitors(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(datadogDir, "monitors.json"))
	require.NoError(t, err)
	var monitors []struct {
		Name, Type, Query, Message string
		Tags                       []string
		Priority                   int
		Options                    struct {
			Thresholds struct {
				Critical *float64 `json:"critical"`
			} `json:"thresholds"`
		} `json:"options"`
	}
	require.NoError(t, json.Unmarshal(b, &monitors))
	logQuery := regexp.MustCompile(`^logs\("(.*)"\)\.index\("[^"]+"\)\.rollup\("count"\)(?:\.by\("(@[\w.]+)"\))?\.last\("\d+[mhd]"\) ([<>]=?) (\d+)$`)
	attrs, _ := datadogAttributes()
	composites := 0
	for _, m := range monitors {
		assert.True(t, m.Priority >= 1 && m.Priority <= 5, m.Name)
		switch m.Type {
		case "log alert":
			parts := logQuery.FindStringSubmatch(m.Query)
			require.NotNil(t, parts, "%s: not a log monitor query: %s", m.Name, m.Query)
			checkLogSearch(t, m.Name, parts[1])
			if parts[2] != "" {
				assert.Contains(t, attrs, parts[2], m.Name)
				assert.Contains(t, m.Name, "{{"+parts[2]+".name}}", "%s: a multi-alert names its group", m.Name)
			}
			threshold, err := strconv.ParseFloat(parts[4], 64)
			require.NoError(t, err)
			require.NotNil(t, m.Options.Thresholds.Critical, m.Name)
			assert.Equal(t, threshold, *m.Options.Thresholds.Critical, "%s: the query's threshold is the critical one", m.Name)
		case "composite":
			composites++
			assert.Equal(t, "DENIALS_HIGH_MONITOR_ID && POLICY_CHANGED_MONITOR_ID", m.Query)
		default:
			t.Errorf("%s: type %q", m.Name, m.Type)
		}
	}
	assert.Equal(t, 1, composites)
}
