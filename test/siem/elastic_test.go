// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package siem

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/policyaudit/policyaudit/internal/testfixtures"
	"github.com/policyaudit/policyaudit/test/harness"
)

var elasticDir = filepath.Join(testfixtures.Root, "deploy", "siem", "elastic")

// mappedFields are the index template's fields with their types
// ("policy.policy_id": "keyword").
func mappedFields(t *testing.T) map[string]string {
	var tmpl struct {
		Template struct {
			Mappings map[string]any `json:"mappings"`
		} `json:"template"`
	}
	require.NoError(t, json.Unmarshal(harness.IndexTemplate(t), &tmpl))
	out := map[string]string{}
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		props, _ := m["properties"].(map[string]any)
		for k, v := range props {
			f := v.(map[string]any)
			if _, nested := f["properties"]; nested {
				walk(prefix+k+".", f)
				continue
			}
			out[prefix+k], _ = f["type"].(string)
		}
	}
	walk("", tmpl.Template.Mappings)
	require.NotEmpty(t, out)
	return out
}

// savedObject is one line of Kibana's saved-objects NDJSON.
type savedObject struct {
	Type       string         `json:"type"`
	ID         string         `json:"id"`
	Attributes map[string]any `json:"attributes"`
	References []struct {
		Name, Type, ID string
	} `json:"references"`
}

func savedObjects(t *testing.T) []savedObject {
	f, err := os.Open(filepath.Join(elasticDir, "kibana-saved-objects.ndjson"))
	require.NoError(t, err)
	defer f.Close()
	var out []savedObject
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		var o savedObject
		require.NoError(t, dec.Decode(&o), sc.Text())
		out = append(out, o)
	}
	require.NoError(t, sc.Err())
	return out
}

// visualization is what a saved visualization asks Elasticsearch: its
// filters (Kibana's, with their query DSL) and its aggregations.
type visualization struct {
	title   string
	filters []map[string]any // each filter's query
	aggs    []struct {
		Type, Schema string
		Params       map[string]any
	}
}

func searchSource(t *testing.T, o savedObject) (filters []map[string]any, keys []string) {
	meta, _ := o.Attributes["kibanaSavedObjectMeta"].(map[string]any)
	raw, _ := meta["searchSourceJSON"].(string)
	var ss struct {
		Filter []struct {
			Meta  struct{ Key, IndexRefName string } `json:"meta"`
			Query map[string]any                     `json:"query"`
		} `json:"filter"`
	}
	require.NoError(t, json.Unmarshal([]byte(raw), &ss), o.ID)
	for _, f := range ss.Filter {
		filters = append(filters, f.Query)
		keys = append(keys, f.Meta.Key)
	}
	return filters, keys
}

// The saved objects import as Kibana expects them (every reference names an
// object of the file or the data view, each visualization's state parses),
// and every field they aggregate, filter on or show is one the index
// template maps, aggregatable where aggregated; the detection rule's EQL
// and required fields name mapped fields of the types it says; the
// lifecycle policy has the phases and actions Elasticsearch knows.
func TestElasticContentNamesOnlyMappedFields(t *testing.T) {
	fields := mappedFields(t)
	objs := savedObjects(t)
	ids := map[string]string{}
	for _, o := range objs {
		ids[o.ID] = o.Type
	}
	aggregatable := []string{"keyword", "date", "long", "integer", "double", "boolean"}
	for _, o := range objs {
		for _, r := range o.References {
			assert.Equal(t, r.Type, ids[r.ID], "%s refers to %s %s, not in the file", o.ID, r.Type, r.ID)
		}
		switch o.Type {
		case "visualization":
			v := decodeVisualization(t, o)
			require.NotEmpty(t, v.aggs, o.ID)
			for _, a := range v.aggs {
				if f, ok := a.Params["field"].(string); ok {
					assert.Contains(t, aggregatable, fields[f], "%s aggregates %s, mapped as %q", o.ID, f, fields[f])
				}
			}
			_, keys := searchSource(t, o)
			for _, k := range keys {
				assert.Contains(t, fields, k, "%s filters on an unmapped field", o.ID)
			}
		case "search":
			for _, c := range o.Attributes["columns"].([]any) {
				assert.Contains(t, fields, c.(string), "%s shows an unmapped field", o.ID)
			}
		}
	}
	assert.Contains(t, ids, "policyaudit-decisions", "the dashboard")

	b, err := os.ReadFile(filepath.Join(elasticDir, "detection-rule-deny-after-change.json"))
	require.NoError(t, err)
	var rule struct {
		RuleID, Name, Description, Type, Language, Query, Interval, From, Severity string
		RiskScore                                                                  int `json:"risk_score"`
		Index                                                                      []string
		RequiredFields                                                             []struct{ Name, Type string } `json:"required_fields"`
	}
	require.NoError(t, json.Unmarshal(b, &rule))
	assert.Equal(t, "eql", rule.Type)
	assert.Equal(t, []string{"logs-policy_gateway.*-*"}, rule.Index)
	for _, f := range regexp.MustCompile(`\b[a-z_]+(?:\.[a-z_]+)+\b`).FindAllString(strings.NewReplacer(`"policy.*"`, "", `"guardrail.*"`, "", `"policy_gateway.admin"`, "", `"policy_gateway.audit"`, "").Replace(rule.Query), -1) {
		assert.Contains(t, fields, f, "the rule's EQL names an unmapped field")
	}
	for _, f := range rule.RequiredFields {
		assert.Equal(t, f.Type, fields[f.Name], "required field %s", f.Name)
	}
	assert.Contains(t, []string{"low", "medium", "high", "critical"}, rule.Severity)

	b, err = os.ReadFile(filepath.Join(elasticDir, "ilm-policy.json"))
	require.NoError(t, err)
	var ilm struct {
		Policy struct {
			Phases map[string]struct {
				MinAge  string                    `json:"min_age"`
				Actions map[string]map[string]any `json:"actions"`
			} `json:"phases"`
		} `json:"policy"`
	}
	require.NoError(t, json.Unmarshal(b, &ilm))
	known := map[string][]string{"hot": {"rollover", "set_priority", "forcemerge", "readonly", "shrink"}, "warm": {"readonly", "forcemerge", "shrink", "allocate", "migrate", "set_priority"},
		"cold": {"readonly", "allocate", "migrate", "set_priority", "searchable_snapshot"}, "delete": {"delete", "wait_for_snapshot"}}
	for phase, p := range ilm.Policy.Phases {
		require.Contains(t, known, phase)
		for action := range p.Actions {
			assert.Contains(t, known[phase], action, "phase %s", phase)
		}
	}
	assert.Contains(t, ilm.Policy.Phases, "delete", "retention ends in deletion")
}

func decodeVisualization(t *testing.T, o savedObject) visualization {
	var vs struct {
		Title string `json:"title"`
		Aggs  []struct {
			Type, Schema string
			Params       map[string]any
		} `json:"aggs"`
	}
	require.NoError(t, json.Unmarshal([]byte(o.Attributes["visState"].(string)), &vs), o.ID)
	filters, _ := searchSource(t, o)
	return visualization{title: vs.Title, filters: filters, aggs: vs.Aggs}
}

// Against a real Elasticsearch node holding what the sidecar wrote there
// (common.yaml + elasticsearch.yaml, the fixtures, deploy/elasticsearch's
// template installed as its README says, with the lifecycle component it
// may go without): each visualization's filters and aggregations run as
// Elasticsearch runs them for Kibana, and count what a count in Go of the
// same canonical records gives, bucket by bucket; the saved search finds
// every admin event.
func TestKibanaVisualizationsCountTheRecordsOnARealNode(t *testing.T) {
	es := harness.StartElasticsearch(t)
	es.InstallTemplate(t)
	examples := filepath.Join(harness.Root, "config", "examples")
	c := harness.StartCollector(t, []string{harness.NewSigningKey(t).Env(), "POLICYAUDIT_RECEIVER_TOKEN=" + harness.ReceiverToken,
		"ELASTICSEARCH_ENDPOINT=" + es.URL, "ELASTICSEARCH_API_KEY=" + harness.ESKey},
		filepath.Join(examples, "common.yaml"), filepath.Join(examples, "elasticsearch.yaml"))
	harness.PostFixtures(t, c.URL, harness.ReceiverToken)
	recs := decodeLines(t, harness.Expected(t, harness.AllFixtureRecords...))
	require.Eventually(t, func() bool { return len(es.DocsOrNil("logs-policy_gateway.*-*")) == len(recs) }, time.Minute, 500*time.Millisecond, "%s", c.Log)
	es.Do(t, http.MethodPost, "/logs-policy_gateway.*-*/_refresh", nil)

	datasets := map[string]string{"policy_gateway.audit": "policy_decision", "policy_gateway.admin": "admin_audit"}
	for _, o := range savedObjects(t) {
		if o.Type != "visualization" && o.Type != "search" {
			continue
		}
		t.Run(o.ID, func(t *testing.T) {
			filters, keys := searchSource(t, o)
			// The records the filters keep, counted in Go.
			var kept []map[string]any
		records:
			for _, r := range recs {
				for i, k := range keys {
					want := filters[i]["match_phrase"].(map[string]any)[k].(string)
					switch {
					case k == "data_stream.dataset":
						if datasets[want] != str(r, "event_kind") {
							continue records
						}
					case strings.HasPrefix(k, "policy."):
						if str(r, strings.TrimPrefix(k, "policy.")) != want {
							continue records
						}
					default:
						t.Fatalf("no Go count for a filter on %s", k)
					}
				}
				kept = append(kept, r)
			}
			require.NotEmpty(t, kept, "the fixtures hold records for %s", o.ID)
			query := map[string]any{"size": 0, "track_total_hits": true, "query": map[string]any{"bool": map[string]any{"filter": filters}}}
			var field string
			if o.Type == "visualization" {
				// The first bucket aggregation that splits by a field:
				// its buckets' counts are what the panel draws.
				for _, a := range decodeVisualization(t, o).aggs {
					if f, ok := a.Params["field"].(string); ok && a.Type == "terms" {
						field = f
						break
					}
				}
				require.NotEmpty(t, field)
				query["aggs"] = map[string]any{"split": map[string]any{"terms": map[string]any{"field": field, "size": 100}}}
			}
			var res struct {
				Hits struct {
					Total struct{ Value int } `json:"total"`
				} `json:"hits"`
				Aggregations struct {
					Split struct {
						Buckets []struct {
							Key      any `json:"key"`
							DocCount int `json:"doc_count"`
						} `json:"buckets"`
					} `json:"split"`
				} `json:"aggregations"`
			}
			require.NoError(t, json.Unmarshal(es.Do(t, http.MethodPost, "/logs-policy_gateway.*-*/_search", query), &res))
			assert.Equal(t, len(kept), res.Hits.Total.Value, "%s: the records its filters keep", o.ID)
			if field == "" {
				return
			}
			want := map[string]int{}
			for _, r := range kept {
				if v := str(r, strings.TrimPrefix(field, "policy.")); v != "" {
					want[v]++
				}
			}
			got := map[string]int{}
			for _, b := range res.Aggregations.Split.Buckets {
				got[fmt.Sprint(b.Key)] = b.DocCount
			}
			assert.Equal(t, want, got, "%s: the buckets of %s", o.ID, field)
			values := make([]string, 0, len(got))
			for k := range got {
				values = append(values, k)
			}
			slices.Sort(values)
			t.Logf("%s: %d records in %d buckets of %s (%s)", o.ID, len(kept), len(got), field, strings.Join(values, ", "))
		})
	}
}

// eqlPython is the virtualenv's Python with Elastic's EQL parser (make
// tools): EQL_PYTHON, or bin/eql/bin/python.
func eqlPython(t *testing.T) string {
	bin := os.Getenv("EQL_PYTHON")
	if bin == "" {
		bin = filepath.Join(testfixtures.Root, "bin", "eql", "bin", "python")
	}
	_, err := os.Stat(bin)
	require.NoError(t, err, "Elastic's EQL parser is missing: make tools installs it")
	return bin
}

// parseEQL runs test/siem/eql/check.py on query against the index template.
func parseEQL(t *testing.T, query string) (string, error) {
	cmd := exec.Command(eqlPython(t), filepath.Join(testfixtures.Root, "test", "siem", "eql", "check.py"),
		filepath.Join(testfixtures.Root, "deploy", "elasticsearch", "index-template.json"))
	cmd.Stdin = strings.NewReader(query)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// The detection rule's EQL parses in Elastic's own EQL parser (PyPI eql,
// as Elastic's detection-rules repository checks its rules), in
// Elasticsearch syntax, against the index template's fields: a misspelt
// field or keyword fails, as the checks of two broken copies show.
func TestDetectionRuleEQLParsesAgainstTheMapping(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(elasticDir, "detection-rule-deny-after-change.json"))
	require.NoError(t, err)
	var rule struct{ Query string }
	require.NoError(t, json.Unmarshal(b, &rule))
	out, err := parseEQL(t, rule.Query)
	require.NoError(t, err, "%s", out)
	assert.Contains(t, out, "sequence")
	for _, broken := range []string{
		strings.Replace(rule.Query, "policy.effective_decision", "policy.effective_decisoin", 1),
		strings.Replace(rule.Query, "with runs=20", "with runz=20", 1),
	} {
		out, err := parseEQL(t, broken)
		assert.Error(t, err, "a broken query parsed:\n%s\n%s", broken, out)
	}
}
