// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/policyaudit/policyaudit/test/harness"
	"github.com/policyaudit/policyaudit/test/peers/datadog"
)

// esSearch asks the Elasticsearch node what a SIEM engineer would: the
// documents of a correlation ID, over the policy gateway's data streams
// (a term query: the index template maps it as keyword).
func esSearch(t *testing.T, es *harness.Elasticsearch, cid string) []map[string]any {
	t.Helper()
	q := map[string]any{"query": map[string]any{"term": map[string]any{"policy.correlation_id": cid}}}
	var res struct {
		Hits struct {
			Hits []map[string]any `json:"hits"`
		} `json:"hits"`
	}
	es.Do(t, http.MethodPost, "/"+harness.DecisionStreams+"/_refresh", nil)
	require.NoError(t, json.Unmarshal(es.Do(t, http.MethodPost, "/"+harness.DecisionStreams+"/_search", q), &res))
	return res.Hits.Hits
}

// The seeds' "verify records arrive" step: the sidecar config with every
// destination (config/examples/common.yaml + all.yaml) against a real S3
// (versitygw), a real HEC endpoint (splunkhecreceiver), a real
// Elasticsearch node with deploy/elasticsearch's index template and the
// Datadog Logs intake v2 contract. Each fixture
// record is then found by its correlation_id in every destination, intact
// and in that destination's shape; a replay leaves Elasticsearch and the
// audit store without duplicates.
func TestEveryRecordArrivesInEveryDestination(t *testing.T) {
	d := harness.StartDestinations(t)
	s3, es, dd, hecPeer := d.S3, d.ES, d.DD, d.HEC
	env := append([]string{"SPLUNK_INDEX=security", "DD_SERVICE=llm-gateway"}, d.Env...)
	configs := harness.SidecarConfigs()
	c := harness.StartCollector(t, env, configs...)
	harness.PostFixtures(t, c.URL, "receiver-token")

	want := harness.Expected(t, harness.AllFixtureRecords...)
	n := len(want)
	download := t.TempDir()
	var s3Lines []string
	var hec []harness.HECEvent
	arrived := func() bool {
		if len(s3Lines) < n {
			if lines, err := s3.Download(t, "policy-audit", download); err == nil {
				s3Lines = lines
			}
		}
		hec = hecPeer.Events(t)
		return len(s3Lines) >= n && len(hec) >= n && len(d.ESDocs()) >= n && len(dd.Logs()) >= n
	}
	for deadline := time.Now().Add(90 * time.Second); !arrived(); time.Sleep(time.Second) {
		if time.Now().After(deadline) {
			t.Fatalf("not every destination got %d records: s3 %d, hec %d, elasticsearch %d, datadog %d\n%s",
				n, len(s3Lines), len(hec), len(d.ESDocs()), len(dd.Logs()), c.Log)
		}
	}
	assert.NotContains(t, c.Log.String(), "failed to index document", "Elasticsearch refused no document")
	assert.Empty(t, dd.Violations(), "the Datadog intake contract")

	for _, line := range want {
		rec := harness.Decode(t, line)
		cid := rec["correlation_id"].(string)
		admin := rec["event_kind"] == "admin_audit"

		// S3: the canonical line itself.
		var inS3 []map[string]any
		for _, l := range s3Lines {
			if got := harness.Decode(t, l); got["correlation_id"] == cid {
				inS3 = append(inS3, got)
			}
		}
		assert.Contains(t, inS3, rec, "s3 %s", cid)

		// Elasticsearch: the document of records.md section 4 under _id = event_id.
		var esDoc map[string]any
		for _, hit := range esSearch(t, es, cid) {
			if hit["_id"] == rec["event_id"] {
				esDoc = hit["_source"].(map[string]any)
				dataset := "policy_gateway.audit"
				if admin {
					dataset = "policy_gateway.admin"
				}
				assert.Regexp(t, backingIndex("logs-"+dataset+"-default"), hit["_index"], cid)
				assert.Equal(t, map[string]any{"type": "logs", "dataset": dataset, "namespace": "default"}, esDoc["data_stream"])
			}
		}
		if assert.NotNil(t, esDoc, "elasticsearch %s", cid) {
			assert.Equal(t, rec, esDoc["policy"], cid)
			assert.Equal(t, rec["created_at"], esDoc["@timestamp"])
			assert.Equal(t, map[string]any{"name": "policy-gateway"}, esDoc["service"])
		}

		// Splunk HEC: event = canonical record, time = created_at, the
		// sourcetype per kind, index and source from config, four indexed fields.
		var ev *harness.HECEvent
		for i := range hec {
			if hec[i].Event["event_id"] == rec["event_id"] {
				ev = &hec[i]
			}
		}
		if assert.NotNil(t, ev, "splunk %s", cid) {
			assert.Equal(t, rec, ev.Event, cid)
			created, _ := time.Parse(time.RFC3339Nano, rec["created_at"].(string))
			// HEC time is epoch seconds as a JSON number (1768587732.25): the
			// receiver's float conversion may land a nanosecond short.
			assert.Equal(t, created.UnixMilli(), ev.Time.Round(time.Millisecond).UnixMilli(), "HEC time is created_at")
			sourcetype := "policy_gateway:decision"
			fields := map[string]any{"decision": rec["decision"], "policy_id": rec["policy_id"], "policy_version": rec["policy_version"], "correlation_id": cid}
			if admin {
				sourcetype = "policy_gateway:admin"
				fields = map[string]any{"action": rec["action"], "outcome": rec["outcome"], "correlation_id": cid}
				for _, k := range []string{"policy_id", "policy_version"} {
					if v, ok := rec[k]; ok {
						fields[k] = v
					}
				}
			}
			assert.Equal(t, sourcetype, ev.Resource["com.splunk.sourcetype"], cid)
			assert.Equal(t, "security", ev.Resource["com.splunk.index"])
			assert.Equal(t, "policy-gateway", ev.Resource["com.splunk.source"])
			for k, v := range fields {
				assert.Equal(t, v, ev.Fields[k], "indexed field %s of %s", k, cid)
			}
			for k := range ev.Fields {
				_, wanted := fields[k]
				assert.True(t, wanted || k == "trace_id" || k == "span_id", "unexpected indexed field %s", k)
			}
		}

		// Datadog: source, service, tags; the canonical fields as attributes.
		var dl *datadog.Log
		for _, l := range dd.Logs() {
			if l.Attributes["event_id"] == rec["event_id"] {
				dl = &l
			}
		}
		if assert.NotNil(t, dl, "datadog %s", cid) {
			assert.Equal(t, "policy-gateway", dl.Source)
			assert.Equal(t, "llm-gateway", dl.Service)
			if admin {
				v, _ := dl.Tag("action")
				assert.Equal(t, rec["action"], v)
			} else {
				for tag, field := range map[string]string{"decision": "decision", "policy_id": "policy_id", "rollout_mode": "rollout_mode"} {
					v, ok := dl.Tag(tag)
					assert.True(t, ok, "tag %s of %s", tag, cid)
					assert.Equal(t, rec[field], v)
				}
			}
			for _, k := range []string{"correlation_id", "decision", "policy_id", "policy_version", "policy_user", "model", "action", "created_at"} {
				assert.Equal(t, rec[k], dl.Attributes[k], "attribute %s of %s", k, cid)
			}
			assert.Equal(t, rec, harness.Decode(t, dl.Attributes["message"].(string)), "the message is the canonical record")
		}

		// The local audit store.
		assert.Contains(t, c.ByCorrelation(t, "receiver-token", cid), rec, "auditstore %s", cid)
	}

	// The command a security team runs after setting up an export.
	first := harness.Decode(t, want[0])
	cid := first["correlation_id"].(string)
	args := []string{"run", "../../cmd/policyaudit", "verify", "--correlation-id", cid}
	for _, cfg := range configs {
		args = append(args, "--config", cfg)
	}
	cli := exec.Command("go", args...)
	cli.Env = append(append(os.Environ(), env...), "POLICYAUDIT_QUERY_ENDPOINT="+strings.TrimPrefix(c.Query, "http://"))
	out, err := cli.CombinedOutput()
	require.NoError(t, err, "%s", out)
	t.Logf("policyaudit verify --correlation-id:\n%s", out)
	for _, dest := range []string{"s3audit", "durable/elasticsearch", "auditstore"} {
		assert.Regexp(t, dest+`\s+found\s+`, string(out))
	}
	assert.Regexp(t, `splunk_hec\s+not queried\s+.*index=security`, string(out))
	assert.Regexp(t, `datadog_logs\s+not queried`, string(out))

	// Replay the same batch: Elasticsearch refuses every create as a
	// duplicate (_id = event_id), the audit store stores nothing twice.
	harness.PostFixtures(t, c.URL, "receiver-token")
	require.Eventually(t, func() bool { return c.ESRefused("version_conflict_engine_exception") >= n }, 60*time.Second, 500*time.Millisecond,
		"the replay did not reach Elasticsearch: %d conflicts\n%s", c.ESRefused("version_conflict_engine_exception"), c.Log)
	ids := map[string]int{}
	docs := es.Docs(t, harness.DecisionStreams)
	for _, d := range docs {
		ids[d.ID]++
	}
	assert.Len(t, ids, n, "one document per record")
	assert.Len(t, docs, n, "no duplicates after the replay")
	cids := map[string]bool{}
	for _, line := range want {
		cids[harness.Decode(t, line)["correlation_id"].(string)] = true
	}
	stored := 0
	for cid := range cids {
		stored += len(c.ByCorrelation(t, "receiver-token", cid))
	}
	assert.Equal(t, n, stored, "the audit store holds each record once")
}
