// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package policydecisionprocessor

import (
	"encoding/json"
	"os"
	"path"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/policyaudit/policyaudit/internal/record"
	"github.com/policyaudit/policyaudit/internal/testfixtures"
)

// indexTemplate is deploy/elasticsearch/index-template.json.
type indexTemplate struct {
	IndexPatterns []string        `json:"index_patterns"`
	DataStream    *map[string]any `json:"data_stream"`
	Priority      int             `json:"priority"`
	Template      struct {
		Settings map[string]any `json:"settings"`
		Mappings struct {
			Properties map[string]mappedField `json:"properties"`
		} `json:"mappings"`
	} `json:"template"`
}

type mappedField struct {
	Type        string                 `json:"type"`
	IgnoreAbove int                    `json:"ignore_above"`
	DepthLimit  int                    `json:"depth_limit"`
	Properties  map[string]mappedField `json:"properties"`
}

func readIndexTemplate(t *testing.T) indexTemplate {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(testfixtures.Root, "deploy", "elasticsearch", "index-template.json"))
	require.NoError(t, err)
	var tpl indexTemplate
	require.NoError(t, json.Unmarshal(raw, &tpl))
	return tpl
}

// The template the README ships maps every field of the record contract
// under "policy" with the type its kind gives it (strings and lists of
// strings keyword, times date, flags boolean, actor and resource objects,
// details and extra flattened), and every other field the elasticsearch
// shape writes; it names the default data streams, as data streams, above
// the built-in logs template.
func TestIndexTemplateMapsEveryField(t *testing.T) {
	tpl := readIndexTemplate(t)
	cfg := createDefaultConfig()
	for _, dataset := range []string{cfg.Elastic.Dataset, cfg.Elastic.AdminDataset} {
		stream := "logs-" + dataset + "-" + cfg.Elastic.Namespace
		matched := false
		for _, p := range tpl.IndexPatterns {
			ok, err := path.Match(p, stream)
			require.NoError(t, err)
			matched = matched || ok
		}
		assert.True(t, matched, "the template's patterns %v name %s", tpl.IndexPatterns, stream)
	}
	assert.NotNil(t, tpl.DataStream, "the names are data streams")
	assert.Greater(t, tpl.Priority, 100, "above Elasticsearch's built-in logs-*-* template")
	assert.Equal(t, "standard", tpl.Template.Settings["index.mode"], "_source stored as sent, not synthetic")

	props := tpl.Template.Mappings.Properties
	policy := props["policy"].Properties
	require.NotEmpty(t, policy)
	checkKeyword := func(name string, f mappedField) {
		assert.Equal(t, "keyword", f.Type, name)
		// Lucene refuses a term over 32,766 bytes, and with it the document.
		assert.Equal(t, 8191, f.IgnoreAbove, "%s: at most 4 bytes a character", name)
	}
	contract := map[string]bool{}
	for _, kind := range []record.Kind{record.KindDecision, record.KindAdmin} {
		for _, field := range record.FieldsOf(kind) {
			contract[field.Name] = true
			got, ok := policy[field.Name]
			if !assert.True(t, ok, "policy.%s is mapped", field.Name) {
				continue
			}
			name := "policy." + field.Name
			if field.Name == record.FieldUsage {
				// Typed, so that Kibana sums tokens and cost.
				want := map[string]string{record.UsageInputTokens: "long", record.UsageOutputTokens: "long", record.UsageTotalTokens: "long",
					record.UsageCost: "double", record.UsageLatencyMS: "long", record.UsageStatusCode: "integer"}
				assert.Len(t, got.Properties, len(want)+2, name)
				for member, typ := range want {
					assert.Equal(t, typ, got.Properties[member].Type, "%s.%s", name, member)
				}
				checkKeyword(name+"."+record.UsageCurrency, got.Properties[record.UsageCurrency])
				checkKeyword(name+"."+record.UsageRequestPath, got.Properties[record.UsageRequestPath])
				continue
			}
			switch field.Type {
			case record.TypeString, record.TypeStrings:
				checkKeyword(name, got)
			case record.TypeTime:
				assert.Equal(t, "date", got.Type, name)
			case record.TypeBool:
				assert.Equal(t, "boolean", got.Type, name)
			case record.TypeObject:
				assert.Empty(t, got.Type, "%s is an object", name)
				assert.Len(t, got.Properties, len(field.Subfields), name)
				for _, sub := range field.Subfields {
					checkKeyword(name+"."+sub.Name, got.Properties[sub.Name])
				}
			case record.TypeFree:
				assert.Equal(t, "flattened", got.Type, name)
				assert.Equal(t, 8191, got.IgnoreAbove, name)
				// The receiver bounds nesting at 32 (jsonbody.DefaultLimits);
				// flattened refuses a document deeper than its limit.
				assert.GreaterOrEqual(t, got.DepthLimit, 32, name)
			}
		}
	}
	for name := range policy {
		assert.True(t, contract[name], "policy.%s is not a field of the record contract", name)
	}

	// Every other leaf of the document the shape writes.
	got, _ := runProcessor(t, destinationConfig(DestinationElasticsearch), oneRecord(splunkDecisionLine))
	doc := firstRecord(t, got).Body().Map().AsRaw()
	delete(doc, "policy")
	var walk func(prefix string, obj map[string]any, mapped map[string]mappedField)
	walk = func(prefix string, obj map[string]any, mapped map[string]mappedField) {
		for k, v := range obj {
			f, ok := mapped[k]
			if !assert.True(t, ok, "%s%s is mapped", prefix, k) {
				continue
			}
			if sub, isObj := v.(map[string]any); isObj {
				walk(prefix+k+".", sub, f.Properties)
			} else if k != "@timestamp" {
				checkKeyword(prefix+k, f)
			}
		}
	}
	walk("", doc, props)
	assert.Equal(t, "date", props["@timestamp"].Type)
}
