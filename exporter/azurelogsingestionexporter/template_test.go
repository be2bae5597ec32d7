// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package azurelogsingestionexporter

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/policyaudit/policyaudit/internal/record"
)

var update = flag.Bool("update", false, "rewrite deploy/azure/policyaudit.json from the exporter's columns")

const templatePath = "../../deploy/azure/policyaudit.json"

// Template is the part of the ARM template the exporter and the peer rely
// on.
type Template struct {
	Resources []struct {
		Type       string `json:"type"`
		Name       string `json:"name"`
		Properties struct {
			Schema *struct {
				Name    string   `json:"name"`
				Columns []Column `json:"columns"`
			} `json:"schema"`
			StreamDeclarations map[string]struct {
				Columns []Column `json:"columns"`
			} `json:"streamDeclarations"`
			DataFlows []struct {
				Streams      []string `json:"streams"`
				OutputStream string   `json:"outputStream"`
				TransformKql string   `json:"transformKql"`
			} `json:"dataFlows"`
		} `json:"properties"`
	} `json:"resources"`
}

// TestTemplateDeclaresTheColumns holds the exporter's columns and the
// shipped template together: each stream declares exactly the columns the
// exporter writes for its kind, each table has them, and each stream flows
// to its table. With -update it writes the template.
func TestTemplateDeclaresTheColumns(t *testing.T) {
	if *update {
		require.NoError(t, os.WriteFile(templatePath, renderTemplate(t), 0o644))
	}
	data, err := os.ReadFile(templatePath)
	require.NoError(t, err)
	assert.Equal(t, string(renderTemplate(t)), string(data), "deploy/azure/policyaudit.json is not what the exporter's columns give: go test -run TestTemplateDeclaresTheColumns -update")

	var tpl Template
	require.NoError(t, json.Unmarshal(data, &tpl))
	cfg := createDefaultConfig()
	want := map[string][]Column{cfg.DecisionStream: Columns(record.KindDecision), cfg.AdminStream: Columns(record.KindAdmin)}
	tables := map[string][]Column{}
	flows := map[string]string{}
	var declared map[string][]Column
	for _, r := range tpl.Resources {
		if s := r.Properties.Schema; s != nil {
			tables[s.Name] = s.Columns
		}
		if r.Properties.StreamDeclarations != nil {
			declared = map[string][]Column{}
			for name, d := range r.Properties.StreamDeclarations {
				declared[name] = d.Columns
			}
			for _, f := range r.Properties.DataFlows {
				flows[f.Streams[0]] = f.OutputStream
			}
		}
	}
	assert.Equal(t, want, declared)
	for stream, cols := range want {
		table := flows[stream]
		assert.Equal(t, cols, tables[table[len("Custom-"):]], "%s flows to %s", stream, table)
	}
}

// renderTemplate writes the ARM template: the two tables, and a DCR of kind
// Direct (its own logs ingestion endpoint) declaring the two streams, each
// flowing unchanged into its table; its outputs are what the exporter's
// endpoint and rule_id take.
func renderTemplate(t *testing.T) []byte {
	cfg := createDefaultConfig()
	type obj = map[string]any
	streams := []struct {
		kind   record.Kind
		stream string
	}{{record.KindDecision, cfg.DecisionStream}, {record.KindAdmin, cfg.AdminStream}}
	resources := []any{}
	declarations := obj{}
	flows := []any{}
	dependsOn := []any{}
	for _, s := range streams {
		table := Tables[s.kind]
		resources = append(resources, obj{
			"type":       "Microsoft.OperationalInsights/workspaces/tables",
			"apiVersion": "2022-10-01",
			"name":       "[format('{0}/" + table + "', parameters('workspaceName'))]",
			"properties": obj{
				"retentionInDays":      "[parameters('retentionInDays')]",
				"totalRetentionInDays": "[parameters('totalRetentionInDays')]",
				"schema":               obj{"name": table, "columns": Columns(s.kind)},
			},
		})
		dependsOn = append(dependsOn, "[resourceId('Microsoft.OperationalInsights/workspaces/tables', parameters('workspaceName'), '"+table+"')]")
		declarations[s.stream] = obj{"columns": Columns(s.kind)}
		flows = append(flows, obj{
			"streams":      []string{s.stream},
			"destinations": []string{"workspace"},
			"transformKql": "source",
			"outputStream": "Custom-" + table,
		})
	}
	dcr := "[resourceId('Microsoft.Insights/dataCollectionRules', parameters('ruleName'))]"
	resources = append(resources, obj{
		"type":       "Microsoft.Insights/dataCollectionRules",
		"apiVersion": "2023-03-11",
		"name":       "[parameters('ruleName')]",
		"location":   "[parameters('location')]",
		"kind":       "Direct",
		"dependsOn":  dependsOn,
		"properties": obj{
			"description":        "policyaudit: LLM gateway policy decisions and admin audit events (github.com/policyaudit/policyaudit, deploy/azure)",
			"streamDeclarations": declarations,
			"destinations": obj{"logAnalytics": []any{obj{
				"name":                "workspace",
				"workspaceResourceId": "[resourceId('Microsoft.OperationalInsights/workspaces', parameters('workspaceName'))]",
			}}},
			"dataFlows": flows,
		},
	})
	tpl := obj{
		"$schema":        "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
		"contentVersion": "1.0.0.0",
		"parameters": obj{
			"workspaceName":        obj{"type": "string", "metadata": obj{"description": "An existing Log Analytics workspace (Microsoft Sentinel's) in this resource group."}},
			"ruleName":             obj{"type": "string", "defaultValue": "policyaudit"},
			"location":             obj{"type": "string", "defaultValue": "[resourceGroup().location]"},
			"retentionInDays":      obj{"type": "int", "defaultValue": 90, "metadata": obj{"description": "Interactive retention of both tables."}},
			"totalRetentionInDays": obj{"type": "int", "defaultValue": 365, "metadata": obj{"description": "Total retention (interactive and long-term) of both tables."}},
		},
		"resources": resources,
		"outputs": obj{
			"endpoint":       obj{"type": "string", "value": "[reference(" + dcr[1:len(dcr)-1] + ", '2023-03-11').endpoints.logsIngestion]"},
			"ruleId":         obj{"type": "string", "value": "[reference(" + dcr[1:len(dcr)-1] + ", '2023-03-11').immutableId]"},
			"ruleResourceId": obj{"type": "string", "value": dcr},
		},
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	require.NoError(t, enc.Encode(tpl))
	return buf.Bytes()
}
