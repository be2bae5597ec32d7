// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package reliability

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/policyaudit/policyaudit/test/harness"
)

// The collector is killed with SIGKILL while records are being posted and
// exported, and the Elasticsearch node with it (a real node: what it
// acknowledged is in its translog, what it had not answered is sent again);
// after a restart of both, the collector on the same queues, every record
// that got a 200 before the kill arrives in S3, Splunk HEC, Elasticsearch
// (once: the replayed creates are refused as duplicates) and the audit
// store.
func TestSIGKILLLosesNothingAcknowledged(t *testing.T) {
	t.Parallel()
	d := startDestinations(t)
	d.DD.SetDelay(intakeDelay)
	c := harness.StartCollector(t, d.Env, harness.SidecarConfigs()...)

	const batch = 500
	var (
		mu    sync.Mutex
		acked []string
	)
	stop := make(chan struct{})
	posted := make(chan struct{})
	go func() {
		defer close(posted)
		for i := 0; ; i += batch {
			select {
			case <-stop:
				return
			default:
			}
			status, _, err := harness.Post(c.URL, harness.ReceiverToken, harness.Decisions("kill", i, batch))
			if err != nil || status != http.StatusOK {
				continue // the collector is down: nothing was acknowledged
			}
			mu.Lock()
			for j := i; j < i+batch; j++ {
				acked = append(acked, fmt.Sprintf("kill-%d", j))
			}
			mu.Unlock()
		}
	}()

	// Kill once exports are under way: some records have reached S3.
	s3dir := t.TempDir()
	waitFor(t, c, "the first exports", time.Minute, func() bool {
		return len(d.arrived(t, c, s3dir)["s3"]) > 0
	})
	c.Kill(t)
	d.ES.Kill(t)
	close(stop)
	<-posted
	mu.Lock()
	want := append([]string(nil), acked...)
	mu.Unlock()
	t.Logf("SIGKILL after %d records were acknowledged", len(want))

	d.ES.Start(t)
	c.Restart(t)
	waitFor(t, c, "every acknowledged record after the restart", 3*time.Minute, func() bool {
		got := d.arrived(t, c, s3dir)
		return hasAll(got["s3"], want) && hasAll(got["splunk_hec"], want) && hasAll(got["elasticsearch"], want) && hasAll(got["datadog"], want)
	})
	got := d.arrived(t, c, s3dir)
	for _, dest := range []string{"s3", "splunk_hec", "elasticsearch", "datadog"} {
		assert.True(t, hasAll(got[dest], want), dest)
	}
	for id, n := range got["elasticsearch"] {
		if n != 1 {
			t.Errorf("%s in Elasticsearch %d times", id, n)
		}
	}
	stored := eventIDs(c.StoredDecisions(t, harness.ReceiverToken))
	assert.True(t, hasAll(stored, want), "audit store")
	for id, n := range stored {
		if n != 1 {
			t.Errorf("%s stored %d times", id, n)
		}
	}
	missing := 0
	for _, id := range want {
		if got["datadog"][id] == 0 {
			missing++
		}
	}
	t.Logf("datadog (its intake answering after %s): %d of %d acknowledged records missing after the kill", intakeDelay, missing, len(want))
}

// intakeDelay is how long the Datadog peer takes to answer: a real intake
// is a WAN round trip away, and an exporter that reports success before the
// answer loses records at a kill only when the answer is slow.
const intakeDelay = 300 * time.Millisecond

func hasAll(got map[string]int, want []string) bool {
	for _, id := range want {
		if got[id] == 0 {
			return false
		}
	}
	return true
}
