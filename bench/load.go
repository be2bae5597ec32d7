// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/policyaudit/policyaudit/internal/gatewaysim"
)

// simStart is the simulated time of the first record: the hour crosses
// midnight, so the sinks see two date partitions.
var simStart = time.Date(2026, 3, 1, 23, 30, 0, 0, time.UTC)

// throughput is a flat-out run.
type throughput struct {
	Records     int
	Wall        time.Duration // from the first request to the last record in the sink
	CPUSeconds  float64       // the collector's, over the same time
	PeakRSSMiB  float64
	SenderP99   time.Duration
	PerCore     float64 // records per CPU second
	CPUPerMilli float64 // CPU seconds per million records
	AllocBytes  float64 // bytes the Go runtime allocated per record
	AllocObjs   float64 // allocations per record
	Profile     []byte  // the CPU profile of the run (pprof format)
}

// idleRSS is the resident set of a collector at rest, in MiB.
type idleRSS struct{ All, Anon float64 }

// loadPoint is one step of the offered-load sweep.
type loadPoint struct {
	Offered  float64
	Achieved float64
	P50, P99 time.Duration
	Refused  int
	PeakMiB  float64
}

// flatOut sends n records as fast as the collector takes them and waits
// until the sink holds them all.
func flatOut(s system, cpu, n int) (throughput, error) {
	c, err := start(s, cpu, true)
	if err != nil {
		return throughput{}, err
	}
	defer c.stop()
	sink := newSinkCounter(s.SinkPattern, s.SinkSep)
	bytes0, objs0, err := c.allocated()
	if err != nil {
		return throughput{}, err
	}
	cpu0 := c.cpuSeconds()
	t0 := time.Now()
	rep, err := sendAll(c, s, n)
	if err != nil {
		return throughput{}, err
	}
	for deadline := time.Now().Add(5 * time.Minute); sink.count(c.out) < n; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			return throughput{}, fmt.Errorf("%s wrote %d of %d records", s.Name, sink.count(c.out), n)
		}
	}
	t := throughput{Records: n, Wall: time.Since(t0), CPUSeconds: c.cpuSeconds() - cpu0, PeakRSSMiB: c.peakMiB(), SenderP99: rep.P99}
	t.PerCore = float64(n) / t.CPUSeconds
	t.CPUPerMilli = t.CPUSeconds / float64(n) * 1e6
	bytes1, objs1, err := c.allocated()
	if err != nil {
		return throughput{}, err
	}
	t.AllocBytes, t.AllocObjs = (bytes1-bytes0)/float64(n), (objs1-objs0)/float64(n)
	c.shutdown()
	if t.Profile, err = os.ReadFile(filepath.Join(c.out, profileFile)); err != nil {
		return throughput{}, fmt.Errorf("%s wrote no CPU profile: %w\n%.4000s", s.Name, err, c.log.String())
	}
	return t, nil
}

// sendAll sends n flat records in requests of 1,000 from four senders, as
// fast as c takes them, and requires every one accepted.
func sendAll(c *collector, s system, n int) (gatewaysim.Report, error) {
	rep, err := gatewaysim.Run(context.Background(), gatewaysim.NewGenerator(7, simStart, time.Hour, n), gatewaysim.Options{
		URL: c.endpoint, Mode: s.Mode, Records: n, Batch: 1000, Workers: 4, Dialects: []gatewaysim.Dialect{gatewaysim.Flat},
	})
	if err == nil && rep.Accepted != n {
		err = fmt.Errorf("%s accepted %d of %d records:\n%.4000s", s.Name, rep.Accepted, n, c.log.String())
	}
	return rep, err
}

// acknowledged sends n records as fast as the collector acknowledges them
// and measures the acknowledgements only (Q: what its queue's writes cost).
func acknowledged(s system, cpu, n int) (ackRun, error) {
	c, err := start(s, cpu, false)
	if err != nil {
		return ackRun{}, err
	}
	defer c.stop()
	cpu0 := c.cpuSeconds()
	rep, err := sendAll(c, s, n)
	if err != nil {
		return ackRun{}, err
	}
	return ackRun{PerSecond: rep.AcceptedPerSecond(), CPUPerMilli: (c.cpuSeconds() - cpu0) / float64(n) * 1e6, P99: rep.P99}, nil
}

// ackRun is an acknowledged-rate run.
type ackRun struct {
	PerSecond   float64 // acknowledged records per second of wall time
	CPUPerMilli float64 // the collector's CPU seconds per million records
	P99         time.Duration
}

// sweep offers each load for a few seconds, in batches of a hundredth of a
// second of traffic, as a gateway flushing every 10 ms would, and returns
// what each achieved, and the resident set when idle (all of it, and its
// anonymous part: the rest is the binary's pages, shared and reclaimable).
func sweep(s system, cpu int, loads []float64, seconds float64) ([]loadPoint, idleRSS, error) {
	c, err := start(s, cpu, false)
	if err != nil {
		return nil, idleRSS{}, err
	}
	defer c.stop()
	time.Sleep(2 * time.Second)
	idle := idleRSS{All: c.rssMiB(), Anon: float64(c.status("RssAnon")) / 1024}
	var points []loadPoint
	for i, load := range loads {
		n := int(load * seconds)
		batch := max(10, int(load/100))
		rep, err := gatewaysim.Run(context.Background(), gatewaysim.NewGenerator(uint64(100+i), simStart, time.Hour, n), gatewaysim.Options{
			URL: c.endpoint, Mode: s.Mode, Records: n, Rate: load, Batch: batch, Workers: 16, Dialects: []gatewaysim.Dialect{gatewaysim.Flat},
		})
		if err != nil {
			return nil, idleRSS{}, err
		}
		points = append(points, loadPoint{Offered: load, Achieved: rep.AcceptedPerSecond(), P50: rep.P50, P99: rep.P99, Refused: rep.Refused + rep.Failed, PeakMiB: c.peakMiB()})
		time.Sleep(time.Second) // let the batch processor and the sink settle
	}
	return points, idle, nil
}
