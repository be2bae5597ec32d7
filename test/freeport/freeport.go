// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

// Package freeport hands the tests' servers ports on 127.0.0.1 that no
// outgoing connection will take: below the kernel's ephemeral range, and
// never the same port twice in one process. A port asked of the kernel
// (listen on :0) comes from the ephemeral range, where any connection a
// collector or a peer opens may take it before its server listens (CI lost
// a run to it). Packages run in parallel as processes of their own, so the
// choice is random and callers that can retry on "address already in use"
// should.
package freeport // import "github.com/policyaudit/policyaudit/test/freeport"

import (
	"errors"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
)

var (
	mu    sync.Mutex
	given = map[int]bool{}
)

// Get is a port free on 127.0.0.1 a moment ago.
func Get() (int, error) {
	mu.Lock()
	defer mu.Unlock()
	low, high := Range()
	for range 2000 {
		port := low + rand.IntN(high-low)
		if given[port] {
			continue
		}
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			continue
		}
		ln.Close()
		given[port] = true
		return port, nil
	}
	return 0, errors.New("freeport: no free port below the ephemeral range after 2000 tries")
}

// Range is where Get looks: the 12,000 ports below the kernel's ephemeral
// range (which starts at 32768 by default on Linux).
func Range() (low, high int) {
	high = 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil && n > 2048 {
				high = n
			}
		}
	}
	return max(high-12000, 1024), high
}
