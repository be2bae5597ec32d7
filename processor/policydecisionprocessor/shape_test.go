// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package policydecisionprocessor

import (
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/policyaudit/policyaudit/internal/pdatajson"
)

const splunkDecisionLine = `{"policy_id":"pii-shield","policy_version":"v3","decision":"mask","created_at":"2026-01-16T23:59:59.900Z","correlation_id":"c-1","user":"u1","model":"gpt-4o-mini","rollout_mode":"shadow"}`

func destinationConfig(dest string) *Config {
	cfg := createDefaultConfig()
	cfg.Destination = dest
	return cfg
}

func TestElasticsearchAttributes(t *testing.T) {
	got, _ := runProcessor(t, destinationConfig(DestinationElasticsearch), oneRecord(splunkDecisionLine))
	lr := firstRecord(t, got)
	attrs := lr.Attributes().AsRaw()
	policy := lr.Body().Map().AsRaw()["policy"].(map[string]any)
	assert.Equal(t, policy["event_id"], attrs["elasticsearch.document_id"])
	assert.Equal(t, "logs", attrs["data_stream.type"])
	assert.Equal(t, "policy_gateway.audit", attrs["data_stream.dataset"])
	assert.Equal(t, "default", attrs["data_stream.namespace"])
	assert.Equal(t, "c-1", attrs["correlation.id"])
	assert.Zero(t, got.ResourceLogs().At(0).Resource().Attributes().Len(), "no date partition outside otlp")
}

// splunk_hec makes every attribute an indexed field: only the four of
// records.md section 4 and the HEC metadata may be there.
func TestSplunkHECIndexedFieldsOnly(t *testing.T) {
	cfg := destinationConfig(DestinationSplunkHEC)
	cfg.Splunk.Index = "security"
	in := oneRecord(splunkDecisionLine)
	in.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes().PutStr("http.client_ip", "203.0.113.7")
	got, _ := runProcessor(t, cfg, in)
	lr := firstRecord(t, got)
	assert.Equal(t, map[string]any{
		"decision": "redact", "policy_id": "pii-shield", "policy_version": "v3", "correlation_id": "c-1",
		"com.splunk.sourcetype": "policy_gateway:decision", "com.splunk.index": "security", "com.splunk.source": "policy-gateway",
	}, lr.Attributes().AsRaw())
	assert.Equal(t, "pii-shield", lr.Body().Map().AsRaw()["policy_id"], "the event is the canonical record")
	assert.Equal(t, "2026-01-16T23:59:59.9Z", lr.Timestamp().AsTime().Format("2006-01-02T15:04:05.999Z07:00"), "HEC time is created_at")
	assert.Zero(t, got.ResourceLogs().At(0).Resource().Attributes().Len(), "a resource attribute would be an indexed field too")

	admin, _ := runProcessor(t, cfg, fixtureLogs(t, "admin-audit.ndjson"))
	attrs := admin.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Attributes().AsRaw()
	assert.Equal(t, "policy_gateway:admin", attrs["com.splunk.sourcetype"])
	assert.Equal(t, "policy.update", attrs["action"])
	assert.NotContains(t, attrs, "decision")
}

func TestDatadogAttributes(t *testing.T) {
	cfg := destinationConfig(DestinationDatadog)
	cfg.Datadog.Service = "llm-gateway"
	got, _ := runProcessor(t, cfg, oneRecord(splunkDecisionLine))
	lr := firstRecord(t, got)
	attrs := lr.Attributes().AsRaw()
	body := lr.Body().Map().AsRaw()
	for k, v := range body {
		assert.Equal(t, v, attrs[k], "canonical field %s is an attribute", k)
	}
	assert.Equal(t, "policy-gateway", attrs["datadog.log.source"])
	assert.Equal(t, "llm-gateway", attrs["service.name"])
	assert.Equal(t, "decision:redact,policy_id:pii-shield,rollout_mode:shadow", attrs["ddtags"])
	assert.Len(t, attrs, len(body)+3)
}

func TestDestinationSettingsAreValidatedOnlyWhereUsed(t *testing.T) {
	cfg := createDefaultConfig()
	cfg.Splunk.Sourcetype = ""
	cfg.Datadog.Service = ""
	cfg.Elastic.Namespace = "Not-Valid"
	require.NoError(t, cfg.Validate(), "otlp ignores the other destinations' settings")
	for dest, want := range map[string]string{
		DestinationSplunkHEC:     "splunk.sourcetype",
		DestinationDatadog:       "datadog.service",
		DestinationElasticsearch: "elastic.namespace",
	} {
		cfg.Destination = dest
		assert.ErrorContains(t, cfg.Validate(), want)
	}
	cfg = createDefaultConfig()
	cfg.Partition.Attribute = ""
	assert.ErrorContains(t, cfg.Validate(), "partition.attribute")
}

// A record too large for one Datadog log (the intake truncates past 1 MB,
// and the log carries the record twice) goes without its large fields,
// named in policyaudit_omitted; its identifying fields stay.
func TestDatadogLogsFitTheIntake(t *testing.T) {
	big := strings.Repeat("x", 60_000)
	var before []string
	for i := 0; i < 10; i++ {
		before = append(before, `"k`+strconv.Itoa(i)+`":"`+big+`"`)
	}
	line := `{"created_at":"2026-03-02T08:14:55Z","request_id":"adm-big","actor":{"id":"carol@example.com","type":"user"},"action":"policy.update","resource":{"type":"policy","id":"p"},"outcome":"success","details":{` + strings.Join(before, ",") + `},"policy_id":"p","policy_version":"v2"}`
	got, _ := runProcessor(t, destinationConfig(DestinationDatadog), oneRecord(line))
	lr := firstRecord(t, got)
	body := lr.Body().Map()
	assert.Less(t, len(pdatajson.AppendCanonicalMap(nil, body)), datadogRecordBudget)
	raw := body.AsRaw()
	assert.NotContains(t, raw, "details")
	assert.Equal(t, []any{"details"}, raw["policyaudit_omitted"])
	for _, k := range []string{"event_id", "correlation_id", "created_at", "action", "outcome", "policy_id", "policy_version"} {
		assert.Contains(t, raw, k)
		assert.Equal(t, raw[k], lr.Attributes().AsRaw()[k], k)
	}

	otlp, _ := runProcessor(t, destinationConfig(DestinationOTLP), oneRecord(line))
	assert.Contains(t, firstRecord(t, otlp).Body().Map().AsRaw(), "details", "other destinations keep the whole record")
}

// A call's usage reaches every destination shape as the record's usage
// object: the canonical body (S3, files, Splunk, Datadog's message) and
// the Elastic document's policy object.
func TestUsageReachesEveryDestinationShape(t *testing.T) {
	line := `{"policy_id":"p","decision":"allow","project_id":"billing","created_at":"2026-03-02T12:00:00Z","usage":{"input_tokens":12,"output_tokens":30,"cost":0.25,"currency":"USD"}}`
	want := map[string]any{"input_tokens": int64(12), "output_tokens": int64(30), "total_tokens": int64(42), "cost": 0.25, "currency": "USD"}
	for _, dest := range destinations {
		t.Run(dest, func(t *testing.T) {
			got, _ := runProcessor(t, destinationConfig(dest), oneRecord(line))
			body := firstRecord(t, got).Body().Map().AsRaw()
			switch dest {
			case DestinationElasticsearch:
				assert.Equal(t, want, body["policy"].(map[string]any)["usage"])
			case DestinationOCSF:
				// OCSF 1.8.0's API Activity has no place for a call's tokens or
				// cost: the event keeps the canonical record's fields it maps.
				assert.NotContains(t, body, "usage")
			default:
				assert.Equal(t, want, body["usage"], dest)
			}
		})
	}
}
