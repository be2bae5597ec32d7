// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

// Package sidecarbench is figures D and D′ of `make bench`: the shipped
// sidecar (config/examples/common.yaml + all.yaml: the journal with fsync,
// every destination and the audit store) and the stock contrib collector
// as the same sidecar (bench/configs/d-stock.yaml), each inside the
// sidecar's 256 MiB memory limit, fed flat out by the gateway simulator,
// against the local peers of the reliability tests. Everything shares this machine's cores:
// the collector, the peers and the load. It is a benchmark: it prints the
// figures; it fails only when a destination misses records, which would
// make the figures meaningless.
package sidecarbench

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
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

// sidecar is one of the two sidecars make bench compares: which collector,
// which configuration, how the load reaches it, and which of its exporters
// say when a record has left for its destination.
type sidecar struct {
	name         string // D or D′
	bin          string // "" for the distribution
	configs      []string
	mode         gatewaysim.Mode
	destinations []string // exporter names, and datadogPeer
	held         func(b *testing.B, d *harness.Destinations) map[string]map[string]bool
	rate         float64 // records/s offered; 0 is flat out
	records      int
}

// datadogPeer is read at the intake peer: contrib's datadog exporter (D′)
// hands logs to an in-memory pipeline that sends them later.
const datadogPeer = "datadog (peer)"

// shipped is D: the shipped sidecar (common.yaml + all.yaml).
func shipped() sidecar {
	return sidecar{
		name:         "D",
		configs:      harness.SidecarConfigs(filepath.Join(harness.Root, "bench", "configs", "sidecar-pprof.yaml")),
		mode:         gatewaysim.Gateway,
		destinations: []string{"s3audit", "splunk_hec", "durable/elasticsearch", "auditstore", "datadog_logs"},
		held:         heldByEventID,
		records:      records,
	}
}

// BenchmarkSidecar is D flat out.
func BenchmarkSidecar(b *testing.B) { run(b, shipped()) }

// BenchmarkSidecarAt5000 is D offered 5,000 records/s, for the p99 of the
// acknowledgement at a rate it sustains.
func BenchmarkSidecarAt5000(b *testing.B) {
	s := shipped()
	s.name, s.rate, s.records = "D at 5,000/s", 5000, 60000
	run(b, s)
}

// BenchmarkStockSidecar is D′: contrib's stock collector as the same
// sidecar (bench/configs/d-stock.yaml), built by make bench (STOCK_BIN).
func BenchmarkStockSidecar(b *testing.B) {
	bin := os.Getenv("STOCK_BIN")
	if bin == "" {
		b.Fatal("STOCK_BIN (the stock collector make bench builds) is not set: make bench")
	}
	run(b, sidecar{
		name:         "D′",
		bin:          bin,
		configs:      []string{filepath.Join(harness.Root, "bench", "configs", "d-stock.yaml")},
		mode:         gatewaysim.OTLP,
		destinations: []string{"awss3", "splunk_hec", "elasticsearch", datadogPeer},
		held:         heldBySimulatorID,
		records:      records,
	})
}

func run(b *testing.B, s sidecar) {
	// The light peers (the Elasticsearch contract peer, not a node): the
	// figure measures the sidecar, not a JVM sharing its two cores.
	d := harness.StartLightDestinations(b)
	limit := harness.NewMemoryLimit(b, harness.SidecarMemoryLimit)
	pprof := "127.0.0.1:" + strconv.Itoa(harness.FreePort(b))
	c := harness.StartBinaryWithin(b, s.bin, limit, append([]string{harness.SidecarGOMEMLIMIT, "BENCH_PPROF=" + pprof}, d.Env...), s.configs...)

	// A simulated hour of traffic ending now: Datadog's intake takes only
	// recent dates. The flat dialect only: the stock sidecar's OTTL
	// normalises that one, and both sidecars get the same records.
	g := gatewaysim.NewGenerator(7, time.Now().Add(-time.Hour), time.Hour, s.records)
	start := time.Now()
	cpuBefore := cpuSeconds(c)
	delivered := make(chan map[string]time.Duration, 1)
	accepted := make(chan int, 1)
	go func() { delivered <- watchDelivery(b, s, d, c, start, accepted) }()
	profiled := make(chan []byte, 1)
	go func() {
		// SIDECAR_BENCH_PROFILE_AFTER seconds in (default 0): a profile of
		// the delivery after the sending, for looking into it.
		time.Sleep(time.Duration(envInt("SIDECAR_BENCH_PROFILE_AFTER", 0)) * time.Second)
		profiled <- cpuProfile(pprof, envInt("SIDECAR_BENCH_PROFILE_SECONDS", profileSeconds))
	}()

	b.ResetTimer()
	rep, err := gatewaysim.Run(context.Background(), g, gatewaysim.Options{
		URL: c.URL, Mode: s.mode, Token: harness.ReceiverToken,
		Records: s.records, Rate: s.rate, Batch: 500, Workers: 4, Dialects: []gatewaysim.Dialect{gatewaysim.Flat},
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
	cpu := cpuSeconds(c) - cpuBefore
	b.StopTimer()
	slowest := time.Duration(0)
	for _, t := range at {
		slowest = max(slowest, t)
	}
	for name, ids := range s.held(b, d) {
		if len(ids) != rep.Accepted {
			b.Errorf("%s holds %d distinct records, %d were accepted", name, len(ids), rep.Accepted)
		}
	}
	if path := os.Getenv("SIDECAR_BENCH_PROFILE"); path != "" && s.rate == 0 {
		if s.bin != "" {
			path = strings.TrimSuffix(path, ".pprof") + "-stock.pprof"
		}
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
	b.ReportMetric(cpu*1e6/float64(rep.Accepted), "cpu-us/record")
	b.Logf("%s: %s; CPU profile of the first %d s; every destination held all %d records %s after the first was sent (%s); the collector used %.1f CPU s (%.0f µs a record); peak anonymous memory %d MiB in a %d MiB limit, %d OOM kills; the collector wrote %d bytes to disk a record",
		s.name, rep, profileSeconds, rep.Accepted, slowest.Round(time.Millisecond), fmtTimes(s, at), cpu, cpu*1e6/float64(max(rep.Accepted, 1)),
		limit.PeakAnonBytes()>>20, limit.Bytes>>20, limit.OOMKills(b), written/int64(max(rep.Accepted, 1)))
}

// cpuSeconds is the CPU time the collector has used so far (utime + stime
// of /proc/<pid>/stat); 0 when it cannot be read.
func cpuSeconds(c *harness.Collector) float64 {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(c.Cmd.Process.Pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command may hold spaces: the fields after it start past ')'.
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	if len(fields) < 13 {
		return 0
	}
	utime, _ := strconv.ParseFloat(fields[11], 64)
	stime, _ := strconv.ParseFloat(fields[12], 64)
	return (utime + stime) / clockTicks
}

// clockTicks is USER_HZ, 100 on every Linux the tests run on.
const clockTicks = 100

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
func watchDelivery(b *testing.B, s sidecar, d *harness.Destinations, c *harness.Collector, start time.Time, accepted <-chan int) map[string]time.Duration {
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
		for _, name := range s.destinations {
			if _, done := at[name]; !done && want >= 0 && counts[name] >= want {
				at[name] = time.Since(start)
			}
		}
		if len(at) == len(s.destinations) {
			return at
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.Errorf("not every destination had the records within 10 minutes: %v", at)
	return at
}

// heldByEventID is what D's destinations hold, by distinct event_id: the
// throughput counts only what arrived.
func heldByEventID(b *testing.B, d *harness.Destinations) map[string]map[string]bool {
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
	return held
}

// simulatorID is the simulator's request ID (sim-<8 digits>), which the
// stock sidecar's records keep as request_id and correlation_id.
var simulatorID = regexp.MustCompile(`sim-[0-9]{8}`)

// heldBySimulatorID is what D′'s destinations hold, by distinct request
// ID: the stock sidecar derives no event_id.
func heldBySimulatorID(b *testing.B, d *harness.Destinations) map[string]map[string]bool {
	held := map[string]map[string]bool{"s3": {}, "splunk_hec": {}, "elasticsearch": {}, "datadog": {}}
	add := func(dest string, v any) {
		text, _ := json.Marshal(v)
		for _, id := range simulatorID.FindAllString(string(text), -1) {
			held[dest][id] = true
		}
	}
	// awss3's own layout and OTLP JSON: every object, gunzipped, searched.
	dir := b.TempDir()
	if _, err := d.S3.AWS(b, "s3", "cp", "--recursive", "--quiet", "s3://"+harness.S3Bucket+"/", dir); err != nil {
		b.Fatal(err)
	}
	err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		z, err := gzip.NewReader(f)
		if err != nil {
			return err
		}
		text, err := io.ReadAll(z)
		for _, id := range simulatorID.FindAll(text, -1) {
			held["s3"][string(id)] = true
		}
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	for _, ev := range d.HEC.Events(b) {
		add("splunk_hec", ev.Event)
	}
	for _, doc := range d.ESDocs() {
		add("elasticsearch", doc)
	}
	for _, l := range d.DD.Logs() {
		add("datadog", l)
	}
	return held
}

func eventID(line string) string {
	var r struct {
		EventID string `json:"event_id"`
	}
	_ = json.Unmarshal([]byte(line), &r)
	return r.EventID
}

func fmtTimes(s sidecar, at map[string]time.Duration) string {
	parts := make([]string, 0, len(at))
	for _, name := range s.destinations {
		parts = append(parts, name+" "+at[name].Round(100*time.Millisecond).String())
	}
	return strings.Join(parts, ", ")
}
