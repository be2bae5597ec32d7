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

// sidecarRun is D, read from the output of BenchmarkSidecar
// (test/sidecarbench), which make bench runs before this program: the
// benchmark needs the peers of the reliability tests, which live there.
type sidecarRun struct {
	Metrics map[string]float64 // by unit: accepted/s, delivered/s, p99-ack-ms, ...
	Summary string             // the benchmark's own line about the run
	Profile string             // the top of its CPU profile
}

// readSidecar parses the benchmark's output and its CPU profile.
func readSidecar(output, profile, bin string) (sidecarRun, error) {
	r := sidecarRun{Metrics: map[string]float64{}}
	f, err := os.Open(output)
	if err != nil {
		return r, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "BenchmarkSidecar") {
			// name, iterations, then value-unit pairs
			fields := strings.Fields(line)
			for i := 2; i+1 < len(fields); i += 2 {
				if v, err := strconv.ParseFloat(fields[i], 64); err == nil {
					r.Metrics[fields[i+1]] = v
				}
			}
		}
		if _, summary, ok := strings.Cut(line, "D: "); ok && strings.Contains(line, "sidecar_test.go") {
			r.Summary = summary
		}
	}
	if r.Metrics["accepted/s"] == 0 {
		return r, fmt.Errorf("%s holds no BenchmarkSidecar result", output)
	}
	if r.Profile, err = profileTop(bin, profile); err != nil {
		return r, err
	}
	return r, sc.Err()
}
