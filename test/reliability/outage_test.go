package reliability

import (
	"net/http"
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
// and Elasticsearch for six: every record arrives in every destination once
// the destination is back, none twice in Elasticsearch or the audit store.
func TestNothingLostWhileDestinationsAreDown(t *testing.T) {
	t.Parallel()
	d := startDestinations(t)
	d.S3.Stop()
	d.HEC.Stop(t)
	d.ES.SetDown(true)
	down := time.Now()

	c := harness.StartCollector(t, d.Env, harness.SidecarConfigs()...)
	for i := 0; i < outageRecords; i += outageBatch {
		status, _, answer, err := harness.PostAnswer(c.URL, harness.ReceiverToken, harness.Decisions("outage", i, outageBatch))
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, status, "records %d-%d while the destinations are down: %s\n%.20000s", i, i+outageBatch, answer, c.Log)
	}
	t.Logf("%d records accepted in %s while S3, Splunk HEC and Elasticsearch were down", outageRecords, time.Since(down).Round(time.Second))

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
	d.ES.SetDown(false)
	back = time.Now()
	waitFor(t, c, "Elasticsearch after a 6-minute outage", 3*time.Minute, func() bool {
		return len(d.ES.Docs()) >= outageRecords
	})
	t.Logf("Elasticsearch held all %d records %s after a %s outage", outageRecords, time.Since(back).Round(time.Second), longOutage)

	got := d.arrived(t, c, s3dir)
	for _, dest := range []string{"s3", "splunk_hec", "elasticsearch", "datadog"} {
		assert.Len(t, got[dest], outageRecords, "every event_id in %s", dest)
	}
	assert.Len(t, d.ES.Docs(), outageRecords, "no duplicate in Elasticsearch")
	stored := eventIDs(c.StoredDecisions(t, harness.ReceiverToken))
	assert.Len(t, stored, outageRecords, "every record in the audit store")
	for id, n := range stored {
		if n != 1 {
			t.Errorf("%s stored %d times", id, n)
		}
	}
	assert.Empty(t, d.ES.Violations())
	assert.Empty(t, d.DD.Violations())
	t.Logf("peak RSS of the collector: %d MiB", c.PeakRSSKiB(t)/1024)
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
