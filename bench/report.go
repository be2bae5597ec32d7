// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"fmt"
	"strings"
	"time"
)

type results struct {
	Date     time.Time
	Machine  string
	Records  int
	Labels   map[string]string
	Sweeps   map[string][]loadPoint
	Flat     map[string]throughput
	Idle     map[string]idleRSS
	Baseline float64 // C, records/s on one core
	Queue    []queueRun
	Profiles map[string]string      // the top of each flat-out run's CPU profile
	Sidecars map[string]*sidecarRun // D, D at 5,000/s and D′, when make bench ran them
}

// queueRun is Q with one fsync setting.
type queueRun struct {
	Fsync string
	ackRun
}

// at returns the sweep point at an offered load.
func (r results) at(name string, load float64) loadPoint {
	for _, p := range r.Sweeps[name] {
		if p.Offered == load {
			return p
		}
	}
	return loadPoint{}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

func verdict(ok bool, howFar string) string {
	if ok {
		return "met (" + howFar + ")"
	}
	return "**missed** (" + howFar + ")"
}

func (r results) markdown() string {
	var b strings.Builder
	a, bb := r.Flat["A"], r.Flat["B"]
	fmt.Fprintf(&b, "Run %s on %s; each collector pinned to one CPU (taskset, GOMAXPROCS=1), the load generator on another; %d records per flat-out run, flat gateway dialect, the same records for A and B.\n\n",
		r.Date.Format("2006-01-02 15:04 UTC"), r.Machine, r.Records)
	b.WriteString("| | records/s per core | CPU s per million records | allocated per record | peak RSS flat out | RSS idle (anonymous) | peak RSS up to 50,000/s | p99 ingest at 10,000/s |\n|---|---|---|---|---|---|---|---|\n")
	for _, name := range []string{"A", "A′", "B"} {
		t, ok := r.Flat[name]
		if !ok {
			continue
		}
		alloc := fmt.Sprintf("%.0f B in %.0f allocations", t.AllocBytes, t.AllocObjs)
		if _, swept := r.Sweeps[name]; !swept {
			fmt.Fprintf(&b, "| %s | %.0f | %.2f | %s | %.0f MiB | | | |\n", r.Labels[name], t.PerCore, t.CPUPerMilli, alloc, t.PeakRSSMiB)
			continue
		}
		fmt.Fprintf(&b, "| %s | %.0f | %.2f | %s | %.0f MiB | %.0f MiB (%.0f MiB) | %.0f MiB | %s |\n",
			r.Labels[name], t.PerCore, t.CPUPerMilli, alloc, t.PeakRSSMiB, r.Idle[name].All, r.Idle[name].Anon, r.at(name, 50000).PeakMiB, ms(r.at(name, 10000).P99))
	}
	fmt.Fprintf(&b, "| C: encoding/json into a struct | %.0f | %.2f | | | | | |\n\n", r.Baseline, 1e6/r.Baseline)
	fmt.Fprintf(&b, "A/B per core: **%.2f×**. A/C: **%.2f** (A does %.0f%% of the work-free decode's rate, while normalising, hashing IDs, regrouping by date and writing).\n\n",
		a.PerCore/bb.PerCore, a.PerCore/r.Baseline, 100*a.PerCore/r.Baseline)

	b.WriteString("| Target | Measured | |\n|---|---|---|\n")
	ratio := a.PerCore / bb.PerCore
	fmt.Fprintf(&b, "| A ≥ 3× B per core | %.2f× | %s |\n", ratio, verdict(ratio >= 3, fmt.Sprintf("%+.0f%%", 100*(ratio/3-1))))
	fmt.Fprintf(&b, "| A ≥ 100,000 records/s on one core | %.0f/s | %s |\n", a.PerCore, verdict(a.PerCore >= 100000, fmt.Sprintf("%+.0f%%", 100*(a.PerCore/100000-1))))
	if ap, ok := r.Flat["A′"]; ok {
		ratio := ap.PerCore / bb.PerCore
		fmt.Fprintf(&b, "| A′ ≥ 3× B per core | %.2f× | %s |\n", ratio, verdict(ratio >= 3, fmt.Sprintf("%+.0f%%", 100*(ratio/3-1))))
		fmt.Fprintf(&b, "| A′ ≤ 12 µs of CPU a record | %.1f µs | %s |\n", ap.CPUPerMilli, verdict(ap.CPUPerMilli <= 12, fmt.Sprintf("%+.0f%%", 100*(ap.CPUPerMilli/12-1))))
	}
	p99 := r.at("A", 10000).P99
	fmt.Fprintf(&b, "| p99 ingest ≤ 5 ms at 10,000 records/s | %s | %s |\n", ms(p99), verdict(p99 <= 5*time.Millisecond, fmt.Sprintf("%+.0f%%", 100*(float64(p99)/float64(5*time.Millisecond)-1))))
	idle := r.Idle["A"]
	fmt.Fprintf(&b, "| RSS ≤ 60 MiB idle | %.0f MiB, of which %.0f MiB anonymous | %s |\n", idle.All, idle.Anon, verdict(idle.All <= 60, fmt.Sprintf("%+.0f%%", 100*(idle.All/60-1))))
	peak50 := r.at("A", 50000).PeakMiB
	fmt.Fprintf(&b, "| RSS ≤ 150 MiB at 50,000 records/s | %.0f MiB | %s |\n", peak50, verdict(peak50 <= 150, fmt.Sprintf("%+.0f%%", 100*(peak50/150-1))))
	if d := r.Sidecars["D"]; d != nil {
		rate := min(d.Metrics["accepted/s"], d.Metrics["delivered/s"])
		fmt.Fprintf(&b, "| D ≥ 20,000 records/s accepted and delivered, shipped sidecar, two cores | %.0f/s accepted, %.0f/s delivered to every destination | %s |\n",
			d.Metrics["accepted/s"], d.Metrics["delivered/s"], verdict(rate >= 20000, fmt.Sprintf("%+.0f%%", 100*(rate/20000-1))))
	}
	if d := r.Sidecars["D at 5,000/s"]; d != nil {
		p99 := d.Metrics["p99-ack-ms"]
		fmt.Fprintf(&b, "| D: p99 acknowledgement ≤ 50 ms at 5,000 records/s | %.1f ms (%.0f/s accepted) | %s |\n",
			p99, d.Metrics["accepted/s"], verdict(p99 <= 50, fmt.Sprintf("%+.0f%%", 100*(p99/50-1))))
	}
	b.WriteString("\n")
	b.WriteString(r.sidecarTable())
	fmt.Fprintf(&b, "Q, what durability costs: A acknowledging only once the records are in the examples' persistent queue (`queue_storage`, bytes sizer; `bench/configs/queue.yaml`), one core, %s (the queue's directory is a temporary directory on this machine's disk):\n\n", r.Machine)
	b.WriteString("| `fsync` | acknowledged records/s | CPU s per million records | p99 acknowledgement (1,000-record requests, 4 senders) |\n|---|---|---|---|\n")
	for _, q := range r.Queue {
		fmt.Fprintf(&b, "| `%s` | %.0f | %.2f | %s |\n", q.Fsync, q.PerSecond, q.CPUPerMilli, ms(q.P99))
	}
	b.WriteString("\n")

	b.WriteString("Where the CPU goes in each flat-out run (the top of its CPU profile, `go tool pprof -top`; the profiles are next to this file):\n\n")
	for _, name := range []string{"A", "A′", "B"} {
		if top, ok := r.Profiles[name]; ok {
			fmt.Fprintf(&b, "%s:\n\n```\n%s```\n\n", r.Labels[name], top)
		}
	}
	for _, name := range []string{"D", "D′"} {
		if d := r.Sidecars[name]; d != nil && d.Profile != "" {
			fmt.Fprintf(&b, "%s, the first seconds of its flat-out run (its summary says how many), both cores:\n\n```\n%s```\n\n", name, d.Profile)
		}
	}

	b.WriteString("Offered-load sweep (batches of 1/100 s of traffic; achieved = accepted records/s; p99 of request latency):\n\n")
	b.WriteString("| offered/s | A achieved/s | A p50 | A p99 | B achieved/s | B p50 | B p99 |\n|---|---|---|---|---|---|---|\n")
	for _, p := range r.Sweeps["A"] {
		q := r.at("B", p.Offered)
		fmt.Fprintf(&b, "| %.0f | %.0f | %s | %s | %.0f | %s | %s |\n", p.Offered, p.Achieved, ms(p.P50), ms(p.P99), q.Achieved, ms(q.P50), ms(q.P99))
	}
	return b.String()
}

// sidecarTable is D and D′ side by side, and their ratio.
func (r results) sidecarTable() string {
	d, stock := r.Sidecars["D"], r.Sidecars["D′"]
	if d == nil {
		return ""
	}
	var b strings.Builder
	b.WriteString("D, the shipped sidecar (`config/examples/common.yaml` + `all.yaml`: the journal with `fsync` feeding five pipelines, the audit store among them), and D′, what a user without policyaudit would run as the same sidecar (contrib's stock collector, `bench/configs/d-stock.yaml`: OTLP, B's OTTL normalisation, contrib's awss3, splunk_hec, elasticsearch and datadog exporters each behind a persistent queue on `file_storage` with `fsync`; no audit store, which has no stock counterpart), each with `GOMEMLIMIT=160MiB` in a 256 MiB memory cgroup, against the same local peers (versitygw, splunkhecreceiver, the Elasticsearch and Datadog contract peers: light peers, so that the figures measure the sidecar and not a JVM sharing its two cores), sharing this machine's two cores with them and with the load (4 senders, 500-record requests, the flat dialect; D over the policygateway receiver, D′ as OTLP); `test/sidecarbench`, its output in `sidecar.txt`:\n\n")
	b.WriteString("| | accepted/s | delivered/s (every destination) | p50 / p99 acknowledgement | CPU per record | written to disk per record | peak anonymous memory |\n|---|---|---|---|---|---|---|\n")
	for _, name := range []string{"D", "D′", "D at 5,000/s"} {
		s := r.Sidecars[name]
		if s == nil {
			continue
		}
		m := s.Metrics
		fmt.Fprintf(&b, "| %s | %.0f | %.0f | %.0f ms / %.0f ms | %.0f µs | %.0f B | %.0f MiB |\n",
			name, m["accepted/s"], m["delivered/s"], m["p50-ack-ms"], m["p99-ack-ms"], m["cpu-us/record"], m["disk-B/record"], m["peak-anon-MiB"])
	}
	if stock != nil {
		dRate := min(d.Metrics["accepted/s"], d.Metrics["delivered/s"])
		sRate := min(stock.Metrics["accepted/s"], stock.Metrics["delivered/s"])
		fmt.Fprintf(&b, "\nD/D′: %.2f× (records/s accepted and delivered to every destination); CPU per record D/D′: %.2f×.\n",
			dRate/sRate, d.Metrics["cpu-us/record"]/stock.Metrics["cpu-us/record"])
	}
	b.WriteString("\n")
	for _, name := range []string{"D", "D′", "D at 5,000/s"} {
		if s := r.Sidecars[name]; s != nil && s.Summary != "" {
			fmt.Fprintf(&b, "> %s: %s\n>\n", name, s.Summary)
		}
	}
	b.WriteString("\n")
	return b.String()
}
