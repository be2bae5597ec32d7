// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package siem

import (
	"bytes"
	"encoding/json"
	"io/fs"
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
	"go.yaml.in/yaml/v3"

	"github.com/policyaudit/policyaudit/exporter/azurelogsingestionexporter"
	"github.com/policyaudit/policyaudit/internal/testfixtures"
)

var sentinelDir = filepath.Join(testfixtures.Root, "deploy", "siem", "sentinel")

// azureTables are the two custom tables deploy/azure/policyaudit.json
// declares, as Kusto schemas: "(Column:type, ...)".
func azureTables(t *testing.T) map[string]string {
	b, err := os.ReadFile(filepath.Join(testfixtures.Root, "deploy", "azure", "policyaudit.json"))
	require.NoError(t, err)
	var tmpl struct {
		Resources []struct {
			Type       string `json:"type"`
			Name       string `json:"name"`
			Properties struct {
				Schema struct {
					Columns []struct{ Name, Type string } `json:"columns"`
				} `json:"schema"`
			} `json:"properties"`
		} `json:"resources"`
	}
	require.NoError(t, json.Unmarshal(b, &tmpl))
	kusto := map[string]string{"string": "string", "boolean": "bool", "datetime": "datetime", "dynamic": "dynamic", "int": "int", "long": "long", "real": "real", "guid": "guid"}
	out := map[string]string{}
	for _, r := range tmpl.Resources {
		if r.Type != "Microsoft.OperationalInsights/workspaces/tables" {
			continue
		}
		name := regexp.MustCompile(`/([A-Za-z0-9_]+_CL)'`).FindStringSubmatch(r.Name)
		require.NotNil(t, name, r.Name)
		var cols []string
		for _, c := range r.Properties.Schema.Columns {
			typ, ok := kusto[c.Type]
			require.True(t, ok, "column %s: type %s", c.Name, c.Type)
			cols = append(cols, c.Name+":"+typ)
		}
		out[name[1]] = "(" + strings.Join(cols, ", ") + ")"
	}
	require.Len(t, out, 2)
	return out
}

type kqlQuery struct {
	Name  string `json:"name"`
	Query string `json:"query"`
}

type kqlResult struct {
	Name        string   `json:"name"`
	Diagnostics []string `json:"diagnostics"`
	Columns     []string `json:"columns"`
}

// analyzeKQL runs Microsoft's Kusto language service (test/siem/kusto, make
// tools) over queries against tables.
func analyzeKQL(t *testing.T, tables map[string]string, queries []kqlQuery) map[string]kqlResult {
	in, err := json.Marshal(map[string]any{"tables": tables, "queries": queries})
	require.NoError(t, err)
	cmd := exec.Command("node", filepath.Join(testfixtures.Root, "test", "siem", "kusto", "check.cjs"))
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "the Kusto language service (make tools installs it in test/siem/kusto): %s", &stderr)
	var results []kqlResult
	require.NoError(t, json.Unmarshal(out, &results))
	byName := map[string]kqlResult{}
	for _, r := range results {
		byName[r.Name] = r
	}
	return byName
}

// workbookParameters are what Azure Workbooks put in place of the
// parameters a query names, for the language service.
var workbookParameters = strings.NewReplacer("{TimeRange:grain}", "1h", "{TimeRange}", "> ago(1d)", "{Policy}", "'*'")

// everyKQL is every KQL text the repository ships: the analytics rules,
// the hunting queries, the workbook's queries, every ```kusto block of the
// Markdown files, and the query policyaudit verify --correlation-id prints.
func everyKQL(t *testing.T) (queries []kqlQuery, rules map[string]analyticsRule) {
	rules = map[string]analyticsRule{}
	for _, dir := range []string{"analytics-rules", "hunting-queries"} {
		files, err := filepath.Glob(filepath.Join(sentinelDir, dir, "*.yaml"))
		require.NoError(t, err)
		require.NotEmpty(t, files, dir)
		for _, f := range files {
			b, err := os.ReadFile(f)
			require.NoError(t, err)
			var r analyticsRule
			require.NoError(t, yaml.Unmarshal(b, &r), f)
			name := dir + "/" + filepath.Base(f)
			queries = append(queries, kqlQuery{name, r.Query})
			if dir == "analytics-rules" {
				rules[name] = r
			}
		}
	}
	b, err := os.ReadFile(filepath.Join(sentinelDir, "workbook", "policyaudit-workbook.json"))
	require.NoError(t, err)
	var wb struct {
		Version string `json:"version"`
		Items   []struct {
			Type    int    `json:"type"`
			Name    string `json:"name"`
			Content struct {
				Query      string `json:"query"`
				Parameters []struct {
					Name  string `json:"name"`
					Query string `json:"query"`
				} `json:"parameters"`
			} `json:"content"`
		} `json:"items"`
	}
	require.NoError(t, json.Unmarshal(b, &wb))
	require.Equal(t, "Notebook/1.0", wb.Version)
	for _, it := range wb.Items {
		if it.Content.Query != "" {
			queries = append(queries, kqlQuery{"workbook/" + it.Name, workbookParameters.Replace(it.Content.Query)})
		}
		for _, p := range it.Content.Parameters {
			if p.Query != "" {
				queries = append(queries, kqlQuery{"workbook/parameter " + p.Name, workbookParameters.Replace(p.Query)})
			}
		}
	}
	fence := regexp.MustCompile("(?s)```kusto\n(.*?)```")
	require.NoError(t, filepath.WalkDir(testfixtures.Root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || d.Name() == ".git" || d.Name() == "bin") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".md") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(testfixtures.Root, path)
		for i, m := range fence.FindAllSubmatch(b, -1) {
			queries = append(queries, kqlQuery{rel + " block " + string(rune('1'+i)), string(m[1])})
		}
		return nil
	}))
	queries = append(queries, kqlQuery{"policyaudit verify --correlation-id", azurelogsingestionexporter.CorrelationQuery(`req-7f3a9c "quoted" \ back`)})
	return queries, rules
}

// Every KQL text parses and its names resolve against the two tables'
// declared columns, in Microsoft's Kusto language service, with no
// diagnostic at all (an error or a warning); a query naming a column the
// tables do not have fails (the check itself is checked with one). Each analytics rule maps entities and details to columns its
// query returns.
func TestEveryKQLTextResolvesAgainstTheTables(t *testing.T) {
	tables := azureTables(t)
	queries, rules := everyKQL(t)
	queries = append(queries, kqlQuery{"a query naming a column no table has", "PolicyAuditDecisions_CL | where PolicyID == 'x'"})
	results := analyzeKQL(t, tables, queries)
	require.Len(t, results, len(queries), "two queries share a name")
	assert.True(t, slices.ContainsFunc(results["a query naming a column no table has"].Diagnostics, func(d string) bool { return strings.HasPrefix(d, "Error") }),
		"the language service found no error in a query naming an unknown column")
	mdBlocks := 0
	for _, q := range queries[:len(queries)-1] {
		r := results[q.Name]
		assert.Empty(t, r.Diagnostics, "%s (errors and warnings alike):\n%s", q.Name, q.Query)
		if strings.Contains(q.Name, ".md block") {
			mdBlocks++
		}
	}
	assert.GreaterOrEqual(t, mdBlocks, 4, "the Markdown's KQL blocks were found")
	for name, rule := range rules {
		cols := results[name].Columns
		for _, e := range rule.EntityMappings {
			for _, f := range e.FieldMappings {
				assert.Contains(t, cols, f.ColumnName, "%s: entity %s maps a column its query does not return", name, e.EntityType)
			}
		}
		for detail, col := range rule.CustomDetails {
			assert.Contains(t, cols, col, "%s: custom detail %s", name, detail)
		}
	}
	t.Logf("%d KQL texts checked against %d tables", len(queries)-1, len(tables))
}

// analyticsRule is a Microsoft Sentinel analytics rule template (the YAML
// of Azure-Sentinel's Detections), as the rules and hunting queries here
// use it.
type analyticsRule struct {
	ID                     string   `yaml:"id"`
	Name                   string   `yaml:"name"`
	Description            string   `yaml:"description"`
	Severity               string   `yaml:"severity"`
	RequiredDataConnectors []any    `yaml:"requiredDataConnectors"`
	QueryFrequency         string   `yaml:"queryFrequency"`
	QueryPeriod            string   `yaml:"queryPeriod"`
	TriggerOperator        string   `yaml:"triggerOperator"`
	TriggerThreshold       *int     `yaml:"triggerThreshold"`
	Tactics                []string `yaml:"tactics"`
	RelevantTechniques     []string `yaml:"relevantTechniques"`
	Query                  string   `yaml:"query"`
	EntityMappings         []struct {
		EntityType    string `yaml:"entityType"`
		FieldMappings []struct {
			Identifier string `yaml:"identifier"`
			ColumnName string `yaml:"columnName"`
		} `yaml:"fieldMappings"`
	} `yaml:"entityMappings"`
	CustomDetails map[string]string `yaml:"customDetails"`
	Version       string            `yaml:"version"`
	Kind          string            `yaml:"kind"`
}

// The analytics rules have what Sentinel requires of a scheduled rule: a
// unique GUID, a severity, frequency and period within Sentinel's bounds
// (5 minutes to 14 days, the period at least the frequency), a trigger,
// and MITRE ATT&CK tactics by their Sentinel names.
func TestAnalyticsRulesAreScheduledRules(t *testing.T) {
	_, rules := everyKQL(t)
	require.NotEmpty(t, rules)
	guid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	tactics := []string{"Reconnaissance", "ResourceDevelopment", "InitialAccess", "Execution", "Persistence", "PrivilegeEscalation",
		"DefenseEvasion", "CredentialAccess", "Discovery", "LateralMovement", "Collection", "CommandAndControl", "Exfiltration", "Impact"}
	ids := map[string]bool{}
	for name, r := range rules {
		assert.Regexp(t, guid, r.ID, name)
		assert.False(t, ids[r.ID], "%s: id %s twice", name, r.ID)
		ids[r.ID] = true
		assert.Equal(t, "Scheduled", r.Kind, name)
		assert.Contains(t, []string{"High", "Medium", "Low", "Informational"}, r.Severity, name)
		assert.Contains(t, []string{"gt", "lt", "eq", "ne"}, r.TriggerOperator, name)
		require.NotNil(t, r.TriggerThreshold, name)
		freq, err := sentinelDuration(r.QueryFrequency)
		require.NoError(t, err, name)
		period, err := sentinelDuration(r.QueryPeriod)
		require.NoError(t, err, name)
		assert.True(t, freq >= 5*time.Minute && period <= 14*24*time.Hour && period >= freq, "%s: frequency %s, period %s", name, freq, period)
		for _, tac := range r.Tactics {
			assert.True(t, slices.Contains(tactics, tac), "%s: tactic %q", name, tac)
		}
		assert.NotEmpty(t, r.Name)
		assert.NotEmpty(t, r.Description)
		assert.NotEmpty(t, r.Version)
	}
}

// sentinelDuration reads Sentinel's "5m", "1h", "1d".
func sentinelDuration(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		d, err := time.ParseDuration(n + "h")
		return 24 * d, err
	}
	return time.ParseDuration(s)
}
