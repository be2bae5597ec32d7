// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package reliability

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/policyaudit/policyaudit/test/harness"
)

// With Splunk HEC down, the persistent queue fills: the receiver answers 503
// with Retry-After instead of dropping, the collector stays inside the
// sidecar's memory limit, and every record it acknowledged arrives once HEC
// is back.
func TestFullQueueIsRefusedNotDropped(t *testing.T) {
	t.Parallel()
	hec := harness.StartHECPeer(t, harness.HECToken)
	hec.Stop(t)
	overlay := filepath.Join(t.TempDir(), "small-queue.yaml")
	require.NoError(t, os.WriteFile(overlay, []byte("exporters:\n  splunk_hec:\n    sending_queue:\n      sizer: items\n      queue_size: 5000\n"), 0o600))
	limit := harness.NewMemoryLimit(t, harness.SidecarMemoryLimit)
	c := harness.StartCollectorWithin(t, limit, []string{
		harness.SidecarGOMEMLIMIT,
		"POLICYAUDIT_RECEIVER_TOKEN=" + harness.ReceiverToken,
		"SPLUNK_HEC_ENDPOINT=" + hec.Endpoint,
		"SPLUNK_HEC_TOKEN=" + harness.HECToken,
	},
		filepath.Join(harness.Root, "config", "examples", "common.yaml"),
		filepath.Join(harness.Root, "config", "examples", "splunk.yaml"),
		overlay)

	const batch = 1000
	var acked []string
	refused := 0
	for i := 0; i < 20*batch; i += batch {
		status, retryAfter, err := harness.Post(c.URL, harness.ReceiverToken, harness.Decisions("full", i, batch))
		require.NoError(t, err)
		switch status {
		case http.StatusOK:
			require.Zero(t, refused, "accepted after a refusal while HEC is still down")
			for j := i; j < i+batch; j++ {
				acked = append(acked, fmt.Sprintf("full-%d", j))
			}
		case http.StatusServiceUnavailable, http.StatusTooManyRequests:
			refused++
			assert.NotEmpty(t, retryAfter, "a refusal says when to retry")
		default:
			t.Fatalf("status %d for records %d-%d", status, i, i+batch)
		}
	}
	require.NotZero(t, refused, "the queue of 5000 records never filled")
	assert.Len(t, acked, 5*batch, "the queue holds 5000 records")
	t.Logf("queue full after %d records; %d requests refused; peak anonymous memory %d MiB in a %d MiB limit",
		len(acked), refused, limit.PeakAnonBytes()>>20, limit.Bytes>>20)
	assert.Zero(t, limit.OOMKills(t), "OOM kills in the %d MiB limit", limit.Bytes>>20)

	hec.Restart(t)
	waitFor(t, c, "the acknowledged records after HEC is back", 2*time.Minute, func() bool {
		got := map[string]int{}
		for _, ev := range hec.Events(t) {
			if id, ok := ev.Event["event_id"].(string); ok {
				got[id]++
			}
		}
		return hasAll(got, acked)
	})
	// Drained: the receiver accepts again.
	waitFor(t, c, "the receiver accepting again", time.Minute, func() bool {
		status, _, err := harness.Post(c.URL, harness.ReceiverToken, harness.Decisions("after", 0, batch))
		return err == nil && status == http.StatusOK
	})
}
