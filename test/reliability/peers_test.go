// Package reliability proves, with the built distribution and real or
// contract peers, that the shipped sidecar configuration loses nothing it
// acknowledged: destinations down for a minute and for longer than
// exporterhelper's default give-up time, the collector killed mid-export,
// and a full persistent queue.
package reliability

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/policyaudit/policyaudit/test/harness"
	"github.com/policyaudit/policyaudit/test/peers/datadog"
	"github.com/policyaudit/policyaudit/test/peers/elasticsearch"
)

const (
	receiverToken = "receiver-token"
	hecToken      = "11111111-2222-3333-4444-555555555555"
	esKey         = "es-api-key"
	ddKey         = "0123456789abcdef0123456789abcdef"
)

// destinations are every peer of the all-destinations sidecar.
type destinations struct {
	s3  *harness.S3
	hec *harness.HECPeer
	es  *elasticsearch.Server
	dd  *datadog.Server
	env []string
}

func startDestinations(t *testing.T) *destinations {
	t.Helper()
	d := &destinations{s3: harness.StartS3(t), es: elasticsearch.Start(esKey), dd: datadog.Start(ddKey)}
	t.Cleanup(d.es.Close)
	t.Cleanup(d.dd.Close)
	_, err := d.s3.AWS(t, "s3api", "create-bucket", "--bucket", "policy-audit")
	require.NoError(t, err)
	d.hec = harness.StartHECPeer(t, hecToken)
	d.env = append([]string{
		"POLICYAUDIT_RECEIVER_TOKEN=" + receiverToken,
		"POLICYAUDIT_S3_BUCKET=policy-audit",
		"POLICYAUDIT_S3_ENDPOINT=" + d.s3.Endpoint,
		"SPLUNK_HEC_ENDPOINT=" + d.hec.Endpoint,
		"SPLUNK_HEC_TOKEN=" + hecToken,
		"ELASTICSEARCH_ENDPOINT=" + d.es.URL,
		"ELASTICSEARCH_API_KEY=" + esKey,
		"DD_API_KEY=" + ddKey,
		"DD_PEER=" + d.dd.URL,
	}, d.s3.Env...)
	return d
}

// sidecarConfigs is config/examples/common.yaml + all.yaml, pointed at the
// peers, plus extra overlays.
func sidecarConfigs(extra ...string) []string {
	return append([]string{
		filepath.Join(harness.Root, "config", "examples", "common.yaml"),
		filepath.Join(harness.Root, "config", "examples", "all.yaml"),
		filepath.Join(harness.Root, "test", "harness", "testdata", "peers.yaml"),
	}, extra...)
}

// eventIDs counts each event_id in a set of canonical records.
func eventIDs(records []map[string]any) map[string]int {
	ids := make(map[string]int, len(records))
	for _, r := range records {
		if id, ok := r["event_id"].(string); ok {
			ids[id]++
		}
	}
	return ids
}

// arrived reads what each destination holds, by event_id.
func (d *destinations) arrived(t *testing.T, c *harness.Collector, s3dir string) map[string]map[string]int {
	t.Helper()
	out := map[string]map[string]int{}
	if lines, err := d.s3.Download(t, "policy-audit", s3dir); err == nil {
		recs := make([]map[string]any, 0, len(lines))
		for _, l := range lines {
			recs = append(recs, harness.Decode(t, l))
		}
		out["s3"] = eventIDs(recs)
	}
	var hec []map[string]any
	for _, ev := range d.hec.Events(t) {
		hec = append(hec, ev.Event)
	}
	out["splunk_hec"] = eventIDs(hec)
	var es []map[string]any
	for _, doc := range d.es.Docs() {
		if p, ok := doc.Source["policy"].(map[string]any); ok {
			es = append(es, p)
		}
	}
	out["elasticsearch"] = eventIDs(es)
	var dd []map[string]any
	for _, l := range d.dd.Logs() {
		dd = append(dd, l.Attributes)
	}
	out["datadog"] = eventIDs(dd)
	return out
}
