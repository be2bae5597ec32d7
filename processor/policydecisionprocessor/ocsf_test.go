// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package policydecisionprocessor

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/policyaudit/policyaudit/internal/ocsf"
	"github.com/policyaudit/policyaudit/internal/ocsf/ocsftest"
	"github.com/policyaudit/policyaudit/internal/pdatajson"
	"github.com/policyaudit/policyaudit/internal/plogutil"
)

// Every record of every fixture, in every dialect, becomes a valid OCSF
// 1.8.0 event (validated against the schema's own files), with its class
// and type as attributes and the date partition on its resource; with
// findings on, every enforced deny or escalation adds a valid Detection
// Finding.
func TestEveryFixtureIsValidOCSF(t *testing.T) {
	schema, err := ocsftest.Load(filepath.Join("..", "..", "internal", "ocsf", "testdata", "ocsf-schema.json"))
	require.NoError(t, err)
	cfg := createDefaultConfig()
	cfg.Destination = DestinationOCSF
	cfg.OCSF.Findings = true
	classes := map[int64]int{}
	for _, name := range []string{"gateway-flat.ndjson", "router-verdicts.json", "admin-audit.ndjson", "opa-decision-logs.json",
		"litellm-calls.ndjson", "litellm-audit.ndjson", "kong-http-log.json", "gateway-usage.ndjson"} {
		got, _ := runProcessor(t, cfg, fixtureLogs(t, name))
		require.Positive(t, got.LogRecordCount(), name)
		for _, rl := range got.ResourceLogs().All() {
			_, partitioned := rl.Resource().Attributes().Get(cfg.Partition.Attribute)
			assert.True(t, partitioned, "%s: the date partition is set for S3", name)
			for _, sl := range rl.ScopeLogs().All() {
				for _, lr := range sl.LogRecords().All() {
					ev := lr.Body().Map().AsRaw()
					assert.Empty(t, schema.Validate(ev), "%s: %v", name, ev)
					class, _ := lr.Attributes().Get(attrOCSFClassUID)
					typ, _ := lr.Attributes().Get(attrOCSFTypeUID)
					assert.Equal(t, ev["class_uid"], class.Int(), name)
					assert.Equal(t, ev["type_uid"], typ.Int(), name)
					classes[class.Int()]++
				}
			}
		}
	}
	assert.Positive(t, classes[ocsf.ClassAPIActivity])
	assert.Positive(t, classes[ocsf.ClassEntityManagement])
	assert.Positive(t, classes[ocsf.ClassDetectionFinding])
}

// Every event and finding the mapping makes of every fixture reads into
// ocsf.EventRow (what the Parquet encoder writes) and writes back as the
// same body, byte for byte: the one definition holds all the mapping
// writes, so no attribute is refused or lost on the way to Parquet.
func TestEveryFixtureEventRoundTripsThroughTheRow(t *testing.T) {
	cfg := createDefaultConfig()
	cfg.Destination = DestinationOCSF
	cfg.OCSF.Findings = true
	n := 0
	for _, name := range []string{"gateway-flat.ndjson", "router-verdicts.json", "admin-audit.ndjson", "opa-decision-logs.json",
		"litellm-calls.ndjson", "litellm-audit.ndjson", "kong-http-log.json", "kong-audit.ndjson", "gateway-usage.ndjson"} {
		got, _ := runProcessor(t, cfg, fixtureLogs(t, name))
		require.Positive(t, got.LogRecordCount(), name)
		plogutil.Each(got, func(lr plog.LogRecord) {
			var row ocsf.EventRow
			require.NoError(t, ocsf.DecodeBody(lr.Body(), &row), name)
			back := pcommon.NewMap()
			ocsf.PutBody(&row, back)
			assert.Equal(t, string(pdatajson.AppendValue(nil, lr.Body())), string(pdatajson.AppendMap(nil, back)), name)
			n++
		})
	}
	assert.Positive(t, n)
}

// For Splunk HEC, the sourcetype names the class (ocsf:<class>, the prefix
// Splunk's OCSF-CIM add-on reads) and nothing else becomes an indexed field.
func TestOCSFForSplunkHEC(t *testing.T) {
	cfg := createDefaultConfig()
	cfg.Destination = DestinationOCSF
	cfg.OCSF.Findings = true
	cfg.OCSF.SplunkHEC = true
	cfg.Splunk.Index = "security"
	sourcetypes := map[string]int{}
	for _, name := range []string{"router-verdicts.json", "admin-audit.ndjson"} {
		got, _ := runProcessor(t, cfg, fixtureLogs(t, name))
		for _, rl := range got.ResourceLogs().All() {
			for _, sl := range rl.ScopeLogs().All() {
				for _, lr := range sl.LogRecords().All() {
					attrs := lr.Attributes().AsRaw()
					st, _ := attrs["com.splunk.sourcetype"].(string)
					sourcetypes[st]++
					assert.Equal(t, "security", attrs["com.splunk.index"])
					assert.ElementsMatch(t, []string{"com.splunk.sourcetype", "com.splunk.index", "com.splunk.source", attrOCSFClassUID, attrOCSFTypeUID}, keys(attrs))
				}
			}
		}
	}
	assert.Positive(t, sourcetypes["ocsf:api_activity"])
	assert.Positive(t, sourcetypes["ocsf:entity_management"])
	assert.Positive(t, sourcetypes["ocsf:detection_finding"])
	assert.Len(t, sourcetypes, 3)
	got, _ := runProcessor(t, cfg, fixtureLogs(t, "gateway-flat.ndjson"))
	for _, rl := range got.ResourceLogs().All() {
		_, has := rl.Resource().Attributes().Get(cfg.Partition.Attribute)
		assert.False(t, has, "splunk_hec would index the partition attribute")
	}
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// The Security Lake layout: each record under its own day's
// eventDay=YYYYMMDD, after the custom source's prefix.
func TestSecurityLakePartition(t *testing.T) {
	cfg := createDefaultConfig()
	cfg.Destination = DestinationOCSF
	cfg.Partition.Layout = LayoutSecurityLake
	cfg.Partition.Prefix = "ext/policyaudit/region=eu-west-1/accountId=123456789012"
	got, _ := runProcessor(t, cfg, fixtureLogs(t, "gateway-flat.ndjson"))
	perPartition := map[string]int{}
	for _, rl := range got.ResourceLogs().All() {
		v, _ := rl.Resource().Attributes().Get(cfg.Partition.Attribute)
		perPartition[v.Str()] += rl.ScopeLogs().At(0).LogRecords().Len()
	}
	assert.Equal(t, map[string]int{
		"ext/policyaudit/region=eu-west-1/accountId=123456789012/eventDay=20260116": 3,
		"ext/policyaudit/region=eu-west-1/accountId=123456789012/eventDay=20260117": 2,
	}, perPartition)
}

// Security Lake takes one OCSF class per custom source: {class} in the
// prefix files each event under its class's source.
func TestSecurityLakeSourcePerClass(t *testing.T) {
	cfg := createDefaultConfig()
	cfg.Destination = DestinationOCSF
	cfg.OCSF.Findings = true
	cfg.Partition.Layout = LayoutSecurityLake
	cfg.Partition.Prefix = "ext/policyaudit_{class}/region=eu-west-1/accountId=123456789012"
	for _, name := range []string{"router-verdicts.json", "admin-audit.ndjson"} {
		got, _ := runProcessor(t, cfg, fixtureLogs(t, name))
		for _, rl := range got.ResourceLogs().All() {
			v, _ := rl.Resource().Attributes().Get(cfg.Partition.Attribute)
			for _, sl := range rl.ScopeLogs().All() {
				for _, lr := range sl.LogRecords().All() {
					class, _ := lr.Attributes().Get(attrOCSFClassUID)
					assert.Contains(t, v.Str(), "ext/policyaudit_"+ocsf.ClassName(class.Int())+"/region=eu-west-1/", name)
				}
			}
		}
	}
}

// Values the data policy rewrites reach OCSF rewritten: the caller redacted
// in the canonical record is redacted in actor.user.uid too.
func TestOCSFAfterTheDataPolicy(t *testing.T) {
	cfg := createDefaultConfig()
	cfg.Destination = DestinationOCSF
	cfg.PII.Fields = map[string]string{"policy_user": "redact"}
	got, _ := runProcessor(t, cfg, fixtureLogs(t, "gateway-flat.ndjson"))
	users := 0
	for _, rl := range got.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				ev := lr.Body().Map().AsRaw()
				actor := ev["actor"].(map[string]any)
				if user, ok := actor["user"].(map[string]any); ok {
					users++
					assert.Equal(t, "[REDACTED]", user["uid"], "the caller as the data policy left it")
				}
			}
		}
	}
	assert.Positive(t, users)
}

// A PII rule on the resource an admin action changed holds in OCSF too:
// entity, entity_result and message carry the redacted values.
func TestOCSFResourceAfterTheDataPolicy(t *testing.T) {
	cfg := createDefaultConfig()
	cfg.Destination = DestinationOCSF
	cfg.IDKey = configOpaque("id-key-0123456789abcdef")
	cfg.PII.Fields = map[string]string{"resource.name": PIIRedact, "resource.id": PIIRedact}
	got, _ := runProcessor(t, cfg, fixtureLogs(t, "admin-audit.ndjson"))
	require.Positive(t, got.LogRecordCount())
	for _, rl := range got.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				ev := lr.Body().AsString()
				assert.NotContains(t, ev, "Prompt injection guard", "a resource name past the data policy")
				entity := lr.Body().Map().AsRaw()["entity"].(map[string]any)
				assert.Equal(t, "[REDACTED]", entity["uid"])
			}
		}
	}
}
