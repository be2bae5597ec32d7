// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// sidecarRun is D, D at 5,000/s or D′, read from the output of
// test/sidecarbench, which make bench runs before this program: the
// benchmarks need the peers of the reliability tests, which live there.
type sidecarRun struct {
	Metrics map[string]float64 // by unit: accepted/s, delivered/s, p99-ack-ms, ...
	Summary string             // the benchmark's own line about the run
	Profile string             // the top of its CPU profile (flat-out runs)
}

// sidecarBenchmarks names each benchmark's figure, and the prefix of its
// summary line.
var sidecarBenchmarks = map[string]string{
	"BenchmarkSidecar":       "D",
	"BenchmarkSidecarAt5000": "D at 5,000/s",
	"BenchmarkStockSidecar":  "D′",
}

// readSidecars parses the benchmarks' output and the flat-out runs' CPU
// profiles (sidecar.pprof for D, sidecar-stock.pprof for D′).
func readSidecars(output, profile, stockProfile, bin, stockBin string) (map[string]*sidecarRun, error) {
	runs := map[string]*sidecarRun{}
	f, err := os.Open(output)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		fields := strings.Fields(line)
		if len(fields) > 2 {
			name, _, _ := strings.Cut(fields[0], "-")
			if figure, ok := sidecarBenchmarks[name]; ok {
				r := &sidecarRun{Metrics: map[string]float64{}}
				// name, iterations, then value-unit pairs
				for i := 2; i+1 < len(fields); i += 2 {
					if v, err := strconv.ParseFloat(fields[i], 64); err == nil {
						r.Metrics[fields[i+1]] = v
					}
				}
				runs[figure] = r
			}
		}
		if strings.Contains(line, "sidecar_test.go") {
			for _, figure := range sidecarBenchmarks {
				if _, summary, ok := strings.Cut(line, " "+figure+": "); ok && runs[figure] != nil {
					runs[figure].Summary = summary
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if runs["D"] == nil {
		return nil, fmt.Errorf("%s holds no BenchmarkSidecar result", output)
	}
	if runs["D"].Profile, err = profileTop(bin, profile); err != nil {
		return nil, err
	}
	if d := runs["D′"]; d != nil {
		if d.Profile, err = profileTop(stockBin, stockProfile); err != nil {
			return nil, err
		}
	}
	return runs, nil
}
