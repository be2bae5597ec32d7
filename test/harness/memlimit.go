// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package harness

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// MemoryLimit is a memory cgroup with a hard limit, the mechanism behind a
// container's memory limit (podman --memory, a pod's limits.memory): the
// kernel reclaims page cache first and OOM-kills the process when its
// anonymous memory alone no longer fits. Creating one needs root, as CI has.
type MemoryLimit struct {
	Bytes int64
	dir   string
	v2    bool // cgroup v2 file names (memory.max); else v1 (memory.limit_in_bytes)

	mu       sync.Mutex
	peakAnon int64
	stop     chan struct{}
	stopped  sync.WaitGroup
}

// NewMemoryLimit creates a child of this process's memory cgroup limited to
// bytes, and samples its anonymous memory until the test ends.
func NewMemoryLimit(t testing.TB, bytes int64) *MemoryLimit {
	t.Helper()
	parent, v2, err := ownMemoryCgroup()
	require.NoError(t, err, "finding this process's memory cgroup")
	m := &MemoryLimit{Bytes: bytes, v2: v2, stop: make(chan struct{})}
	m.dir = filepath.Join(parent, fmt.Sprintf("policyaudit-test-%d-%d", os.Getpid(), time.Now().UnixNano()))
	require.NoError(t, os.Mkdir(m.dir, 0o755), "creating a memory cgroup (the reliability tests run as root, as CI does)")
	limitFile := "memory.limit_in_bytes"
	if v2 {
		limitFile = "memory.max"
	}
	require.NoError(t, os.WriteFile(filepath.Join(m.dir, limitFile), []byte(strconv.FormatInt(bytes, 10)), 0o644))
	m.stopped.Add(1)
	go m.sample()
	t.Cleanup(func() {
		close(m.stop)
		m.stopped.Wait()
		// Removable once its processes have exited (the collector's cleanup
		// runs first: it was registered later).
		_ = os.Remove(m.dir)
	})
	return m
}

// ownMemoryCgroup is the directory of this process's memory cgroup: the v1
// memory hierarchy if mounted, else the unified v2 hierarchy.
func ownMemoryCgroup() (string, bool, error) {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", false, err
	}
	var unified string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			if c == "memory" {
				return filepath.Join("/sys/fs/cgroup/memory", parts[2]), false, nil
			}
		}
		if parts[0] == "0" && parts[1] == "" {
			unified = parts[2]
		}
	}
	for _, root := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified"} {
		if controllers, err := os.ReadFile(filepath.Join(root, unified, "cgroup.subtree_control")); err == nil && strings.Contains(string(controllers), "memory") {
			return filepath.Join(root, unified), true, nil
		}
	}
	return "", false, fmt.Errorf("no memory cgroup controller in %q", b)
}

// Command is argv run inside the cgroup: a shell joins it, then execs argv,
// so the process is limited from its first allocation.
func (m *MemoryLimit) Command(argv []string) []string {
	join := `echo $$ > "$0" && shift && exec "$@"`
	return append([]string{"/bin/sh", "-c", join, filepath.Join(m.dir, "cgroup.procs"), "--"}, argv...)
}

// OOMKills is how many processes the kernel killed for exceeding the limit.
func (m *MemoryLimit) OOMKills(t testing.TB) int {
	t.Helper()
	file := "memory.oom_control"
	if m.v2 {
		file = "memory.events"
	}
	return int(m.stat(t, file, "oom_kill"))
}

// PeakAnonBytes is the largest anonymous memory (heap, stacks, SQLite's
// page cache: what cannot be reclaimed) sampled in the cgroup so far.
func (m *MemoryLimit) PeakAnonBytes() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.peakAnon
}

// sample reads the cgroup's anonymous memory every 100 ms.
func (m *MemoryLimit) sample() {
	defer m.stopped.Done()
	key := "rss"
	if m.v2 {
		key = "anon"
	}
	for {
		if v, err := readStat(filepath.Join(m.dir, "memory.stat"), key); err == nil {
			m.mu.Lock()
			m.peakAnon = max(m.peakAnon, v)
			m.mu.Unlock()
		}
		select {
		case <-m.stop:
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (m *MemoryLimit) stat(t testing.TB, file, key string) int64 {
	t.Helper()
	v, err := readStat(filepath.Join(m.dir, file), key)
	require.NoError(t, err)
	return v
}

// readStat reads "key value" from a cgroup file.
func readStat(path, key string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), " "); ok && k == key {
			return strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		}
	}
	return 0, fmt.Errorf("no %s in %s", key, path)
}

// The sidecar's memory as config/examples/README.md sizes it: a 256 MiB
// container limit, GOMEMLIMIT well below it (SQLite's page cache, stacks
// and the mapped queue files live beside the Go heap), and common.yaml's
// memory_limiter refusing before the Go heap reaches GOMEMLIMIT.
const (
	SidecarMemoryLimit = 256 << 20
	SidecarGOMEMLIMIT  = "GOMEMLIMIT=160MiB"
)
