// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

// Package reliability proves, with the built distribution and real or
// contract peers, that the shipped sidecar configuration loses nothing it
// acknowledged: destinations down for a minute and for longer than
// exporterhelper's default give-up time, the collector killed mid-export,
// and a full persistent queue.
package reliability

import (
	"testing"

	"github.com/policyaudit/policyaudit/test/harness"
)

// destinations are the sidecar's peers, read back by event_id.
type destinations struct{ *harness.Destinations }

// startDestinations runs the peers with a real Elasticsearch node.
func startDestinations(t *testing.T) destinations {
	return destinations{harness.StartDestinations(t)}
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
func (d destinations) arrived(t *testing.T, c *harness.Collector, s3dir string) map[string]map[string]int {
	t.Helper()
	out := map[string]map[string]int{}
	if lines, err := d.S3.Download(t, harness.S3Bucket, s3dir); err == nil {
		recs := make([]map[string]any, 0, len(lines))
		for _, l := range lines {
			recs = append(recs, harness.Decode(t, l))
		}
		out["s3"] = eventIDs(recs)
	}
	var hec []map[string]any
	for _, ev := range d.HEC.Events(t) {
		hec = append(hec, ev.Event)
	}
	out["splunk_hec"] = eventIDs(hec)
	var es []map[string]any
	for _, doc := range d.ESDocs() {
		if p, ok := doc.Source["policy"].(map[string]any); ok {
			es = append(es, p)
		}
	}
	out["elasticsearch"] = eventIDs(es)
	var dd []map[string]any
	for _, l := range d.DD.Logs() {
		dd = append(dd, l.Attributes)
	}
	out["datadog"] = eventIDs(dd)
	return out
}
