// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package policydecisionprocessor

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
)

// order_key: every record of one correlation ID lands under one resource,
// in the order it came, whichever batch and collector it passes through;
// a batch becomes at most buckets resources.
func TestOrderKeyKeepsARequestUnderOneResource(t *testing.T) {
	cfg := createDefaultConfig()
	cfg.OrderKey.Buckets = 8
	require.NoError(t, cfg.Validate())
	var lines []string
	for i := range 200 {
		lines = append(lines, fmt.Sprintf(`{"event_id":"e-%03d","request_id":"req-%02d","created_at":"2026-01-16T10:00:%02d.%03dZ","policy_id":"p","decision":"allow"}`, i, i%40, i%60, i))
	}
	bucketOf := func(ld plog.Logs) map[string]int64 {
		got := map[string]int64{}
		for _, rl := range ld.ResourceLogs().All() {
			v, ok := rl.Resource().Attributes().Get("policyaudit.order_key")
			require.True(t, ok)
			for _, sl := range rl.ScopeLogs().All() {
				for _, lr := range sl.LogRecords().All() {
					cid := lr.Body().Map().AsRaw()["correlation_id"].(string)
					if b, seen := got[cid]; seen {
						assert.Equal(t, b, v.Int(), "%s in two resources", cid)
					}
					got[cid] = v.Int()
				}
			}
		}
		return got
	}
	logsOf := func(lines []string) plog.Logs {
		ld := plog.NewLogs()
		lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
		for _, l := range lines {
			lrs.AppendEmpty().Body().SetStr(l)
		}
		return ld
	}
	lines = append(lines, `{"event_id":"late","request_id":"req-07","created_at":"2026-01-17T00:00:01.000Z","policy_id":"p","decision":"deny"}`)
	out, _ := runProcessor(t, cfg, logsOf(lines))
	for _, rl := range out.ResourceLogs().All() {
		_, dated := rl.Resource().Attributes().Get("policyaudit.partition")
		assert.False(t, dated, "no date partition: a request across midnight keeps one key")
	}
	first := bucketOf(out)
	assert.Len(t, first, 40)
	assert.LessOrEqual(t, out.ResourceLogs().Len(), 8)
	// Another batch, another collector: the same buckets.
	again, _ := runProcessor(t, cfg, logsOf(lines[100:]))
	for cid, b := range bucketOf(again) {
		assert.Equal(t, first[cid], b, cid)
	}
	// In each resource, a request's records keep the order they came in.
	for _, rl := range out.ResourceLogs().All() {
		last := map[string]string{}
		for _, lr := range rl.ScopeLogs().At(0).LogRecords().All() {
			m := lr.Body().Map().AsRaw()
			cid, ev := m["correlation_id"].(string), m["event_id"].(string)
			assert.Less(t, last[cid], ev)
			last[cid] = ev
		}
	}

	cfg.OrderKey.Buckets = -1
	assert.ErrorContains(t, cfg.Validate(), "order_key.buckets: must be 0 (off) to 4096")
	cfg.OrderKey = OrderKeyConfig{Buckets: 4}
	assert.ErrorContains(t, cfg.Validate(), "order_key.attribute: must not be empty")
}
