// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/policyaudit/policyaudit/test/harness"
	"github.com/policyaudit/policyaudit/test/peers/datadog"
)

// decisionStream is where the sidecar writes decisions in Elasticsearch.
const decisionStream = "logs-policy_gateway.audit-default"

// postTo sends an NDJSON body to a receiver path and requires a 200.
func postTo(t *testing.T, c *harness.Collector, path string, body []byte) {
	t.Helper()
	status, _, answer, err := harness.PostNDJSON(c.URL+path, harness.ReceiverToken, body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status, "%s: %s\n%s", path, answer, c.Log)
}

// _id = event_id holds within a backing index only: on a real node, a
// replay before a rollover is refused as a duplicate (409), a replay after
// it is indexed again in the new backing index (the limit the README's
// delivery table states).
func TestElasticsearchReplayAfterARolloverDuplicates(t *testing.T) {
	d := harness.StartDestinations(t)
	c := harness.StartCollector(t, d.Env, harness.SidecarConfigs()...)
	const n = 100
	batch := harness.Decisions("roll", 0, n)
	// DocsOrNil: called inside Eventually, whose condition must not stop the test.
	docs := func() []harness.ESDoc { return d.ES.DocsOrNil(decisionStream) }
	postTo(t, c, "/v1/decisions", batch)
	require.Eventually(t, func() bool { return len(docs()) == n }, time.Minute, 500*time.Millisecond, "%s", c.Log)

	postTo(t, c, "/v1/decisions", batch)
	require.Eventually(t, func() bool { return c.ESRefused("version_conflict_engine_exception") == n }, time.Minute, 500*time.Millisecond, "%s", c.Log)
	assert.Len(t, docs(), n, "a replay into the same backing index adds nothing")

	second := d.ES.Rollover(t, decisionStream)
	postTo(t, c, "/v1/decisions", batch)
	require.Eventually(t, func() bool { return len(docs()) == 2*n }, time.Minute, 500*time.Millisecond, "%s", c.Log)
	perID := map[string][]string{}
	for _, doc := range docs() {
		perID[doc.ID] = append(perID[doc.ID], doc.Index)
	}
	require.Len(t, perID, n)
	for id, backing := range perID {
		assert.Len(t, backing, 2, id)
		assert.NotEqual(t, backing[0], backing[1], id)
		assert.Contains(t, backing, second, id)
	}
	t.Logf("a replay after a rollover: %d records, %d documents in %d backing indices", n, len(docs()), 2)
}

// A document whose value does not fit the data stream's mapping (here an
// index template written by someone else, at a higher priority than
// deploy/elasticsearch's, maps policy.policy_version as a number) is
// refused by the node with 400 document_parsing_exception: the
// elasticsearch exporter logs it and does not retry it; every other
// destination has the records.
func TestElasticsearchMappingConflictIsLoggedNotRetried(t *testing.T) {
	d := harness.StartDestinations(t)
	d.ES.Do(t, http.MethodPut, "/_index_template/someone-else", map[string]any{
		"index_patterns": []string{decisionStream}, "data_stream": map[string]any{}, "priority": 300,
		"template": map[string]any{"mappings": map[string]any{"properties": map[string]any{
			"policy": map[string]any{"properties": map[string]any{"policy_version": map[string]any{"type": "long"}}},
		}}},
	})
	c := harness.StartCollector(t, d.Env, harness.SidecarConfigs()...)
	const n = 50
	refused := func() int { return c.ESRefused("document_parsing_exception") }
	postTo(t, c, "/v1/decisions", harness.Decisions("map", 0, n))
	require.Eventually(t, func() bool { return refused() == n }, time.Minute, 500*time.Millisecond, "%s", c.Log)
	require.Eventually(t, func() bool { return len(c.StoredDecisions(t, harness.ReceiverToken)) == n }, time.Minute, 200*time.Millisecond)
	time.Sleep(5 * time.Second) // longer than the exporter's retry interval
	assert.Equal(t, n, refused(), "refused once each, not retried")
	assert.Empty(t, d.ES.Docs(t, decisionStream))
	assert.Contains(t, c.Log.String(), "document_parsing_exception")
	t.Logf("a mapping conflict: %d of %d records refused by Elasticsearch, logged, not retried; all %d in the audit store", n, n, n)
}

// A node whose write queue is full answers 429 for each document, in a 200
// bulk answer (a real node cannot be made to on demand: the contract peer
// does, for the next bulk requests). The exporter retries such documents
// itself, up to retry.max_retries, then logs them as failed and reports
// success, so the persistent queue forgets them; the examples set no
// practical limit, and every record arrives once the node takes them.
func TestElasticsearchRejectionsAreRetriedNotDropped(t *testing.T) {
	d := harness.StartLightDestinations(t)
	// More bulk requests than the exporter's default of 2 retries covers.
	d.ESPeer.RejectNext(6)
	c := harness.StartCollector(t, d.Env, harness.SidecarConfigs()...)
	const n = 200
	postTo(t, c, "/v1/decisions", harness.Decisions("busy", 0, n))
	require.Eventually(t, func() bool { return len(d.ESPeer.Docs()) == n }, time.Minute, 500*time.Millisecond, "%s", c.Log)
	assert.GreaterOrEqual(t, d.ESPeer.Rejected(), 6, "six bulk requests rejected")
	assert.Zero(t, c.ESRefused("es_rejected_execution_exception"), "no document given up")
	assert.Empty(t, d.ESPeer.Violations())
	t.Logf("%d records, %d rejections with 429: all %d indexed once", n, d.ESPeer.Rejected(), len(d.ESPeer.Docs()))
}

// What reaches Datadog's intake, whose contract drops a log dated more than
// 18 hours ago and truncates one over 1 MB: a record that waited 20 hours
// arrives, dated on arrival, with its created_at; a fresh one keeps its
// date; a record too large for one log arrives whole, its large fields
// named as omitted, and stays complete in the audit store.
func TestDatadogGetsRecordsItsIntakeWouldDropOrCut(t *testing.T) {
	// Elasticsearch plays no part here: the contract peer, not a node.
	d := harness.StartLightDestinations(t)
	c := harness.StartCollector(t, d.Env, harness.SidecarConfigs()...)
	now := time.Now().UTC()
	line := func(id string, created time.Time) string {
		return fmt.Sprintf(`{"event_id":"%s","request_id":"%s","created_at":"%s","policy_id":"p","policy_version":"v1","decision":"deny","user":"u","model":"m"}`,
			id, id, created.Format("2006-01-02T15:04:05.000Z"))
	}
	postTo(t, c, "/v1/decisions", []byte(line("held-20h", now.Add(-20*time.Hour))+"\n"+line("fresh", now.Add(-time.Minute))+"\n"))
	var details []string
	for i := range 10 {
		details = append(details, fmt.Sprintf(`"k%d":"%s"`, i, strings.Repeat("x", 60_000)))
	}
	big := fmt.Sprintf(`{"created_at":"%s","request_id":"adm-big","actor":{"id":"carol","type":"user"},"action":"policy.update","resource":{"type":"policy","id":"p"},"outcome":"success","details":{%s},"policy_id":"p","policy_version":"v2"}`,
		now.Format("2006-01-02T15:04:05.000Z"), strings.Join(details, ","))
	postTo(t, c, "/v1/audit", []byte(big+"\n"))

	// Decisions by event_id, the admin event by its action.
	byRequest := func() map[string]datadog.Log {
		out := map[string]datadog.Log{}
		for _, l := range d.DD.Logs() {
			if l.Attributes["action"] == "policy.update" {
				out["adm-big"] = l
			} else if id, ok := l.Attributes["event_id"].(string); ok {
				out[id] = l
			}
		}
		return out
	}
	require.Eventually(t, func() bool { return len(byRequest()) == 3 }, time.Minute, 200*time.Millisecond, "%s", c.Log)
	assert.Zero(t, d.DD.Stale())
	logs := byRequest()

	held, fresh := logs["held-20h"], logs["fresh"]
	assert.Equal(t, now.Add(-20*time.Hour).Format("2006-01-02T15:04:05.000Z"), held.Attributes["created_at"])
	assert.WithinDuration(t, time.Now(), held.Time, time.Minute, "dated on arrival")
	assert.NotEmpty(t, held.Attributes["correlation_id"])
	assert.Equal(t, now.Add(-time.Minute).Truncate(time.Millisecond), fresh.Time.UTC(), "a fresh record keeps its date")

	adm := logs["adm-big"]
	assert.False(t, adm.Truncated, "the log fits the intake")
	// The message is the record's fields as JSON: the list stays a list.
	assert.Equal(t, []any{"details"}, adm.Attributes["policyaudit_omitted"])
	cid, _ := adm.Attributes["correlation_id"].(string)
	require.NotEmpty(t, cid)
	stored := c.ByCorrelation(t, harness.ReceiverToken, cid)
	require.Len(t, stored, 1)
	assert.Len(t, stored[0]["details"], 10, "the audit store keeps the whole record")
	assert.Empty(t, d.DD.Violations())
}
