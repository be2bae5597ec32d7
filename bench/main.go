// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

// Command bench is `make bench`: this distribution (A) and the stock contrib
// collector doing the same normalisation with OTTL (B), each pinned to one
// CPU, on the same simulated gateway records, against the limit of decoding
// those records with encoding/json on one core (C). It prints the figures
// next to the targets and writes bench/results/results.md and load.png. It
// asserts nothing.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/policyaudit/policyaudit/internal/gatewaysim"
)

func main() {
	root := flag.String("root", "..", "the repository root")
	records := flag.Int("records", 300000, "records of each flat-out run")
	queueRecords := flag.Int("queue-records", 100000, "records of each persistent-queue run")
	seconds := flag.Float64("seconds", 4, "seconds of each offered-load step")
	cpu := flag.Int("cpu", 0, "the CPU the collectors are pinned to (run the harness on another)")
	out := flag.String("out", "results", "directory for results.md and load.png")
	sidecarOut := flag.String("sidecar", "", "test/sidecarbench's output (D, D at 5,000/s, D′), if it ran; the profiles are sidecar.pprof and sidecar-stock.pprof beside it")
	probe := flag.Float64("probe", 0, "only offer this load to A (or -probe-config) for -seconds, -probe-runs times, and print each run's latency: for looking into p99, writes nothing")
	probeRuns := flag.Int("probe-runs", 5, "runs of -probe")
	probeConfig := flag.String("probe-config", "", "the configuration -probe runs (default A's)")
	flatOnly := flag.String("flat", "", "only run these systems flat out (comma-separated names: A,A′,B) and print each one's CPU per record and the top of its profile: for looking into CPU, writes nothing")
	flag.Parse()

	systems := []system{
		{Name: "A", Label: "A: policyaudit (policygateway, policydecision)", Bin: filepath.Join(*root, "bin", "otelcol-policyaudit"),
			Config: filepath.Join(*root, "bench", "configs", "a.yaml"), Mode: gatewaysim.Gateway, SinkPattern: "records*.jsonl", SinkSep: "\n"},
		{Name: "A′", Label: "A′: policyaudit fed as B (otlp, policydecision)", Bin: filepath.Join(*root, "bin", "otelcol-policyaudit"),
			Config: filepath.Join(*root, "bench", "configs", "a-otlp.yaml"), Mode: gatewaysim.OTLP, SinkPattern: "records*.jsonl", SinkSep: "\n", FlatOnly: true},
		{Name: "B", Label: "B: stock contrib (otlp, transform/OTTL)", Bin: filepath.Join(*root, "bin", "otelcol-stock"),
			Config: filepath.Join(*root, "bench", "configs", "b.yaml"), Mode: gatewaysim.OTLP, SinkPattern: "records*.json", SinkSep: `"body":{`},
	}
	if *probe > 0 {
		s := systems[0]
		if *probeConfig != "" {
			s.Config = *probeConfig
		}
		loads := make([]float64, *probeRuns)
		for i := range loads {
			loads[i] = *probe
		}
		points, _, err := sweep(s, *cpu, loads, *seconds)
		if err != nil {
			fail(err)
		}
		for _, p := range points {
			fmt.Printf("%s at %.0f/s: achieved %.0f/s, p50 %s, p99 %s\n", filepath.Base(s.Config), p.Offered, p.Achieved, p.P50, p.P99)
		}
		return
	}
	if *flatOnly != "" {
		for _, s := range systems {
			if !slices.Contains(strings.Split(*flatOnly, ","), s.Name) {
				continue
			}
			t, err := flatOut(s, *cpu, *records)
			if err != nil {
				fail(err)
			}
			fmt.Printf("%s: %.2f µs of CPU a record (%.0f records/s a core), %.0f B in %.1f allocations a record\n", s.Name, t.CPUPerMilli, t.PerCore, t.AllocBytes, t.AllocObjs)
			if top, err := saveProfile(s, t.Profile, os.TempDir()); err == nil {
				fmt.Println(top)
			}
		}
		return
	}
	loads := []float64{1000, 2000, 5000, 10000, 20000, 50000, 100000, 200000}
	res := results{Date: time.Now().UTC(), Records: *records, Sweeps: map[string][]loadPoint{}, Flat: map[string]throughput{}, Idle: map[string]idleRSS{}, Labels: map[string]string{}, Profiles: map[string]string{}}
	for _, s := range systems {
		res.Labels[s.Name] = s.Label
		if !s.FlatOnly {
			fmt.Printf("%s: offered-load sweep %v records/s, %gs each\n", s.Label, loads, *seconds)
			points, idle, err := sweep(s, *cpu, loads, *seconds)
			if err != nil {
				fail(err)
			}
			res.Sweeps[s.Name], res.Idle[s.Name] = points, idle
		}
		fmt.Printf("%s: %d records flat out\n", s.Label, *records)
		t, err := flatOut(s, *cpu, *records)
		if err != nil {
			fail(err)
		}
		res.Flat[s.Name] = t
		if res.Profiles[s.Name], err = saveProfile(s, t.Profile, *out); err != nil {
			fail(err)
		}
	}
	queue := filepath.Join(*root, "bench", "configs", "queue.yaml")
	for _, fsync := range []string{"true", "false"} {
		q := system{Name: "Q fsync: " + fsync, Bin: systems[0].Bin, Config: queue, Mode: gatewaysim.Gateway, Env: []string{"BENCH_FSYNC=" + fsync}}
		fmt.Printf("Q: A acknowledging after its persistent queue, fsync: %s, %d records\n", fsync, *queueRecords)
		r, err := acknowledged(q, *cpu, *queueRecords)
		if err != nil {
			fail(err)
		}
		res.Queue = append(res.Queue, queueRun{Fsync: fsync, ackRun: r})
	}
	fmt.Printf("C: encoding/json into a struct, one core\n")
	c, err := decodeBaseline(*records)
	if err != nil {
		fail(err)
	}
	res.Baseline = c
	res.Machine = machine()
	if *sidecarOut != "" {
		dir := filepath.Dir(*sidecarOut)
		d, err := readSidecars(*sidecarOut, filepath.Join(dir, "sidecar.pprof"), filepath.Join(dir, "sidecar-stock.pprof"), systems[0].Bin, systems[2].Bin)
		if err != nil {
			fail(err)
		}
		res.Sidecars = d
	}

	md := res.markdown()
	fmt.Println()
	fmt.Println(md)
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fail(err)
	}
	if err := os.WriteFile(filepath.Join(*out, "results.md"), []byte(md), 0o644); err != nil {
		fail(err)
	}
	if err := writePlot(filepath.Join(*out, "load.png"), res.Sweeps, res.Labels, []string{"A", "B"}); err != nil {
		fail(err)
	}
	fmt.Printf("wrote %s and %s\n", filepath.Join(*out, "results.md"), filepath.Join(*out, "load.png"))
}

// saveProfile writes a flat-out run's CPU profile to dir as <config>.pprof
// and returns its top functions, as go tool pprof prints them.
func saveProfile(s system, profile []byte, dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	path := filepath.Join(dir, strings.TrimSuffix(filepath.Base(s.Config), ".yaml")+".pprof")
	if err := os.WriteFile(path, profile, 0o644); err != nil {
		return "", err
	}
	return profileTop(s.Bin, path)
}

// profileTop is the top functions of a CPU profile, as go tool pprof prints
// them, under the profile's file name.
func profileTop(bin, path string) (string, error) {
	top, err := exec.Command("go", "tool", "pprof", "-top", "-nodecount=15", bin, path).Output()
	if err != nil {
		return "", fmt.Errorf("go tool pprof %s: %w", path, err)
	}
	// From the column headings on: the lines before name the file and time.
	text := string(top)
	if i := strings.Index(text, "      flat"); i >= 0 {
		text = text[i:]
	}
	return filepath.Base(path) + "\n" + text, nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}

// machine names the CPU and the core count.
func machine() string {
	// Not runtime.NumCPU: it counts only the CPUs this process is pinned to.
	model, cores := "unknown CPU", 0
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "model name"); ok && model == "unknown CPU" {
				model = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
			}
			if strings.HasPrefix(line, "processor") {
				cores++
			}
		}
	}
	return fmt.Sprintf("%s, %d cores, %s, linux/%s", model, cores, runtime.Version(), runtime.GOARCH)
}
