// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

// Package sidecarbench is figure D of `make bench`: the shipped sidecar
// (config/examples/common.yaml + all.yaml: persistent queues with fsync,
// every destination and the audit store) inside the sidecar's 256 MiB
// memory limit, fed flat out by the gateway simulator, against the local
// peers of the reliability tests. Everything shares this machine's cores:
// the collector, the peers and the load. It is a benchmark: it prints the
// figures; it fails only when a destination misses records, which would
// make the figures meaningless.
package sidecarbench

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/policyaudit/policyaudit/internal/gatewaysim"
	"github.com/policyaudit/policyaudit/test/harness"
)

// records is how many records D sends: enough for a minute of the queues'
// batching and several audit-store signing intervals at the target rate.
var records = envInt("SIDECAR_BENCH_RECORDS", 200000)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// destinations are the sidecar's exporters whose metric says when a record has
// left its queue for the destination (Datadog's is read at the peer: its
// exporter hands logs to an in-memory pipeline that sends later).
var destinations = []string{"s3audit", "splunk_hec", "durable/elasticsearch", "auditstore", datadogPeer}

const datadogPeer = "datadog (peer)"

func BenchmarkSidecar(b *testing.B) {
	// The light peers (the Elasticsearch contract peer, not a node): the
	// figure measures the sidecar, not a JVM sharing its two cores.
	d := harness.StartLightDestinations(b)
	limit := harness.NewMemoryLimit(b, harness.SidecarMemoryLimit)
	pprof := "127.0.0.1:" + strconv.Itoa(harness.FreePort(b))
	c := harness.StartCollectorWithin(b, limit, append([]string{harness.SidecarGOMEMLIMIT, "BENCH_PPROF=" + pprof}, d.Env...),
		harness.SidecarConfigs(filepath.Join(harness.Root, "bench", "configs", "sidecar-pprof.yaml"))...)

	// A simulated hour of traffic ending now: Datadog's intake takes only
	// recent dates.
	g := gatewaysim.NewGenerator(7, time.Now().Add(-time.Hour), time.Hour, records)
	start := time.Now()
	delivered := make(chan map[string]time.Duration, 1)
	accepted := make(chan int, 1)
	go func() { delivered <- watchDelivery(b, d, c, start, accepted) }()
	profiled := make(chan []byte, 1)
	go func() { profiled <- cpuProfile(pprof, profileSeconds) }()

	b.ResetTimer()
	rep, err := gatewaysim.Run(context.Background(), g, gatewaysim.Options{
		URL: c.URL, Mode: gatewaysim.Gateway, Token: harness.ReceiverToken,
		Records: records, Batch: 500, Workers: 4,
	})
	if err != nil {
		b.Fatal(err)
	}
	accepted <- rep.Accepted
	if rep.Failed > 0 {
		b.Fatalf("%d records failed (no answer): %s", rep.Failed, c.Log)
	}
	at := <-delivered
	written := diskWrites(c)
	b.StopTimer()
	slowest := time.Duration(0)
	for _, t := range at {
		slowest = max(slowest, t)
	}
	checkPeers(b, d, c, rep.Accepted)
	if path := os.Getenv("SIDECAR_BENCH_PROFILE"); path != "" {
		if err := os.WriteFile(path, <-profiled, 0o644); err != nil {
			b.Error(err)
		}
	}

	b.ReportMetric(float64(rep.Accepted)/rep.Elapsed.Seconds(), "accepted/s")
	b.ReportMetric(float64(rep.Accepted)/slowest.Seconds(), "delivered/s")
	b.ReportMetric(float64(rep.P99.Microseconds())/1000, "p99-ack-ms")
	b.ReportMetric(float64(rep.P50.Microseconds())/1000, "p50-ack-ms")
	b.ReportMetric(float64(rep.Refused), "refused")
	b.ReportMetric(float64(limit.PeakAnonBytes()>>20), "peak-anon-MiB")
	b.ReportMetric(float64(written)/float64(rep.Accepted), "disk-B/record")
	b.Logf("D: %s; CPU profile of the first %d s; every destination held all %d records %s after the first was sent (%s); peak anonymous memory %d MiB in a %d MiB limit, %d OOM kills; the collector wrote %d bytes to disk a record (queues, audit store, digests)",
		rep, profileSeconds, rep.Accepted, slowest.Round(time.Millisecond), fmtTimes(at), limit.PeakAnonBytes()>>20, limit.Bytes>>20, limit.OOMKills(b), written/int64(max(rep.Accepted, 1)))
}

// diskWrites is what the collector has had written to storage so far
// (write_bytes of /proc/<pid>/io): every queue write, the audit store's,
// the digests'. 0 when the kernel does not account it.
func diskWrites(c *harness.Collector) int64 {
	io, err := os.ReadFile("/proc/" + strconv.Itoa(c.Cmd.Process.Pid) + "/io")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(io), "\n") {
		if v, ok := strings.CutPrefix(line, "write_bytes: "); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return 0
}

// profileSeconds of the run are profiled, from its start: fewer than the
// sending takes at the rate D reaches.
const profileSeconds = 8

// cpuProfile is the collector's CPU profile over the next seconds (empty
// when it cannot be taken: the figures do not depend on it).
func cpuProfile(addr string, seconds int) []byte {
	resp, err := http.Get("http://" + addr + "/debug/pprof/profile?seconds=" + strconv.Itoa(seconds))
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return body
}

// watchDelivery polls until every destination has the records the run
// accepted (known once it ends) and returns when each got the last of them.
func watchDelivery(b *testing.B, d *harness.Destinations, c *harness.Collector, start time.Time, accepted <-chan int) map[string]time.Duration {
	want := -1
	at := map[string]time.Duration{}
	deadline := time.Now().Add(10 * time.Minute)
	for time.Now().Before(deadline) {
		select {
		case n := <-accepted:
			want = n
		default:
		}
		counts := c.SentLogRecords()
		counts[datadogPeer] = len(d.DD.Logs())
		for _, name := range destinations {
			if _, done := at[name]; !done && want >= 0 && counts[name] >= want {
				at[name] = time.Since(start)
			}
		}
		if len(at) == len(destinations) {
			return at
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.Errorf("not every destination had the records within 10 minutes: %v", at)
	return at
}

// checkPeers requires every destination to hold every accepted record, by
// distinct event_id: the throughput counts only what arrived.
func checkPeers(b *testing.B, d *harness.Destinations, c *harness.Collector, accepted int) {
	held := map[string]map[string]bool{"s3": {}, "splunk_hec": {}, "elasticsearch": {}, "datadog": {}}
	lines, err := d.S3.Download(b, harness.S3Bucket, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	for _, l := range lines {
		held["s3"][eventID(l)] = true
	}
	for _, ev := range d.HEC.Events(b) {
		id, _ := ev.Event["event_id"].(string)
		held["splunk_hec"][id] = true
	}
	for _, doc := range d.ESDocs() {
		held["elasticsearch"][doc.ID] = true
	}
	for _, l := range d.DD.Logs() {
		id, _ := l.Attributes["event_id"].(string)
		held["datadog"][id] = true
	}
	for name, ids := range held {
		if len(ids) != accepted {
			b.Errorf("%s holds %d distinct records, %d were accepted", name, len(ids), accepted)
		}
	}
}

func eventID(line string) string {
	var r struct {
		EventID string `json:"event_id"`
	}
	_ = json.Unmarshal([]byte(line), &r)
	return r.EventID
}

func fmtTimes(at map[string]time.Duration) string {
	parts := make([]string, 0, len(at))
	for _, name := range destinations {
		parts = append(parts, name+" "+at[name].Round(100*time.Millisecond).String())
	}
	return strings.Join(parts, ", ")
}
