// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package reliability

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/policyaudit/policyaudit/test/harness"
)

const (
	outageRecords = 50000
	outageBatch   = 1000
	shortOutage   = 60 * time.Second
	// Longer than exporterhelper's default retry_on_failure.max_elapsed_time
	// (300 s), after which a stock configuration drops what it queued.
	longOutage = 6 * time.Minute
)

// 50,000 records are posted while S3 and Splunk HEC are down for a minute
// and Elasticsearch (a real node, stopped) for six, to the shipped sidecar
// in a 256 MiB memory limit with the GOMEMLIMIT its documentation gives: it
// is not OOM-killed, every record arrives in every destination once the
// destination is back, none twice in Elasticsearch or the audit store.
func TestNothingLostWhileDestinationsAreDown(t *testing.T) {
	t.Parallel()
	d := startDestinations(t)
	d.DD.SetDelay(intakeDelay)
	d.S3.Stop()
	d.HEC.Stop(t)
	d.ES.Stop(t)
	down := time.Now()

	limit := harness.NewMemoryLimit(t, harness.SidecarMemoryLimit)
	c := harness.StartCollectorWithin(t, limit, append(d.Env, harness.SidecarGOMEMLIMIT), harness.SidecarConfigs()...)
	refused := 0
	for i := 0; i < outageRecords; {
		status, retryAfter, answer, err := harness.PostAnswer(c.URL, harness.ReceiverToken, harness.Decisions("outage", i, outageBatch))
		require.NoError(t, err, "records %d-%d (the collector OOM-killed?)\n%.20000s", i, i+outageBatch, c.Log)
		if status == http.StatusServiceUnavailable {
			// memory_limiter refusing: the gateway retries when told.
			refused++
			seconds, err := strconv.Atoi(retryAfter)
			require.NoError(t, err, "a 503 without a Retry-After in seconds: %q", retryAfter)
			time.Sleep(time.Duration(seconds) * time.Second)
			continue
		}
		require.Equal(t, http.StatusOK, status, "records %d-%d while the destinations are down: %s\n%.20000s", i, i+outageBatch, answer, c.Log)
		i += outageBatch
	}
	t.Logf("%d records accepted in %s while S3, Splunk HEC and Elasticsearch were down (%d requests refused with 503 and retried)",
		outageRecords, time.Since(down).Round(time.Second), refused)

	time.Sleep(time.Until(down.Add(shortOutage)))
	d.S3.Start(t)
	d.HEC.Restart(t)
	back := time.Now()
	s3dir := t.TempDir()
	waitFor(t, c, "S3 and Splunk HEC after a 1-minute outage", 3*time.Minute, func() bool {
		got := d.arrived(t, c, s3dir)
		return len(got["s3"]) == outageRecords && len(got["splunk_hec"]) == outageRecords
	})
	t.Logf("S3 and Splunk HEC held all %d records %s after coming back", outageRecords, time.Since(back).Round(time.Second))

	time.Sleep(time.Until(down.Add(longOutage)))
	d.ES.Start(t)
	back = time.Now()
	waitFor(t, c, "Elasticsearch after a 6-minute outage", 3*time.Minute, func() bool {
		return len(d.ESDocs()) >= outageRecords
	})
	t.Logf("Elasticsearch held all %d records %s after a %s outage", outageRecords, time.Since(back).Round(time.Second), longOutage)

	got := d.arrived(t, c, s3dir)
	for _, dest := range []string{"s3", "splunk_hec", "elasticsearch", "datadog"} {
		assert.Len(t, got[dest], outageRecords, "every event_id in %s", dest)
	}
	assert.Len(t, d.ESDocs(), outageRecords, "no duplicate in Elasticsearch")
	stored := eventIDs(c.StoredDecisions(t, harness.ReceiverToken))
	assert.Len(t, stored, outageRecords, "every record in the audit store")
	for id, n := range stored {
		if n != 1 {
			t.Errorf("%s stored %d times", id, n)
		}
	}
	assert.Empty(t, d.DD.Violations())
	assert.Zero(t, limit.OOMKills(t), "OOM kills in the %d MiB limit", limit.Bytes>>20)
	t.Logf("in a %d MiB memory limit: no OOM kill; peak anonymous memory %d MiB (peak RSS with mapped files %d MiB)",
		limit.Bytes>>20, limit.PeakAnonBytes()>>20, c.PeakRSSKiB(t)/1024)
}

// waitFor polls cond until it holds or the time is up.
func waitFor(t *testing.T, c *harness.Collector, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(limit); !cond(); time.Sleep(2 * time.Second) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not every record arrived within %s\n%.20000s", what, limit, c.Log)
		}
	}
}
