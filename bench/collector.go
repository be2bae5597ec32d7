// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/policyaudit/policyaudit/internal/gatewaysim"
)

// system is one side of the comparison: a collector binary and its config.
type system struct {
	Name, Label string
	Bin, Config string
	Mode        gatewaysim.Mode // how the load reaches it
	Env         []string        // added to the collector's environment
	FlatOnly    bool            // measured flat out only, no offered-load sweep
	// Sink is the file pattern of the sink and what occurs once per record.
	SinkPattern, SinkSep string
}

// collector is a running system, pinned to one CPU.
type collector struct {
	cmd      *exec.Cmd
	endpoint string
	pprof    string // the pprof extension's address
	out      string
	log      bytes.Buffer
}

// profileFile is where a profiled run's CPU profile is written at shutdown.
const profileFile = "cpu.pprof"

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// start runs the system on CPU cpu (taskset) and waits for its health
// check; profiled, it writes a CPU profile of its whole run when stopped.
func start(s system, cpu int, profiled bool) (*collector, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	health, err := freePort()
	if err != nil {
		return nil, err
	}
	pprofPort, err := freePort()
	if err != nil {
		return nil, err
	}
	out, err := os.MkdirTemp("", "policyaudit-bench-"+s.Name)
	if err != nil {
		return nil, err
	}
	c := &collector{endpoint: "http://127.0.0.1:" + strconv.Itoa(port), pprof: "127.0.0.1:" + strconv.Itoa(pprofPort), out: out}
	profile := ""
	if profiled {
		profile = filepath.Join(out, profileFile)
	}
	c.cmd = exec.Command("taskset", "-c", strconv.Itoa(cpu), s.Bin, "--config", s.Config)
	c.cmd.Env = append(os.Environ(),
		"BENCH_ENDPOINT=127.0.0.1:"+strconv.Itoa(port),
		"BENCH_HEALTH=127.0.0.1:"+strconv.Itoa(health),
		"BENCH_OUT="+out,
		"BENCH_PPROF="+c.pprof,
		"BENCH_PROFILE="+profile,
		"GOMAXPROCS=1",
	)
	c.cmd.Env = append(c.cmd.Env, s.Env...)
	c.cmd.Stdout, c.cmd.Stderr = &c.log, &c.log
	if err := c.cmd.Start(); err != nil {
		return nil, err
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(health) + "/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return c, nil
			}
		}
		if time.Now().After(deadline) {
			c.stop()
			return nil, fmt.Errorf("%s did not become healthy:\n%s", s.Name, c.log.String())
		}
	}
}

// stop ends the collector and removes its files.
func (c *collector) stop() {
	c.shutdown()
	_ = os.RemoveAll(c.out)
}

// shutdown ends the collector (a profiled one writes its profile then).
func (c *collector) shutdown() {
	if c.cmd.ProcessState != nil {
		return
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = c.cmd.Process.Kill()
		<-done
	}
}

// allocated is what the Go runtime has allocated so far, in bytes and
// objects (runtime.MemStats TotalAlloc and Mallocs, from the pprof
// extension's heap page).
func (c *collector) allocated() (bytes, objects float64, err error) {
	resp, err := http.Get("http://" + c.pprof + "/debug/pprof/heap?debug=1")
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	page, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(page), "\n") {
		if v, ok := strings.CutPrefix(line, "# TotalAlloc = "); ok {
			bytes, _ = strconv.ParseFloat(v, 64)
		}
		if v, ok := strings.CutPrefix(line, "# Mallocs = "); ok {
			objects, _ = strconv.ParseFloat(v, 64)
		}
	}
	if bytes == 0 || objects == 0 {
		return 0, 0, fmt.Errorf("no TotalAlloc or Mallocs in the heap page of %s", c.pprof)
	}
	return bytes, objects, nil
}

// status reads a field of /proc/<pid>/status in KiB.
func (c *collector) status(field string) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kib, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			return kib
		}
	}
	return 0
}

// rssMiB is the resident set now; peakMiB the highest so far.
func (c *collector) rssMiB() float64  { return float64(c.status("VmRSS")) / 1024 }
func (c *collector) peakMiB() float64 { return float64(c.status("VmHWM")) / 1024 }

// cpuSeconds is the user and system CPU time the process has used.
func (c *collector) cpuSeconds() float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", c.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// Fields after the command name (which may hold spaces) start at ") ".
	fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	utime, _ := strconv.ParseFloat(fields[11], 64)
	stime, _ := strconv.ParseFloat(fields[12], 64)
	return (utime + stime) / 100 // USER_HZ
}

// sinkCounter counts the records a sink has written: occurrences of sep in
// the files matching pattern, reading only what was appended since the last
// call.
type sinkCounter struct {
	pattern string
	sep     []byte
	offsets map[string]int64
	tails   map[string][]byte
	n       int
}

func newSinkCounter(pattern string, sep string) *sinkCounter {
	return &sinkCounter{pattern: pattern, sep: []byte(sep), offsets: map[string]int64{}, tails: map[string][]byte{}}
}

func (s *sinkCounter) count(dir string) int {
	files, _ := filepath.Glob(filepath.Join(dir, s.pattern))
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			continue
		}
		st, err := f.Stat()
		if err != nil || st.Size() <= s.offsets[name] {
			f.Close()
			continue
		}
		buf := make([]byte, st.Size()-s.offsets[name])
		n, _ := f.ReadAt(buf, s.offsets[name])
		f.Close()
		chunk := append(s.tails[name], buf[:n]...)
		s.n += bytes.Count(chunk, s.sep)
		// Keep a partial separator for the next read.
		keep := min(len(s.sep)-1, len(chunk))
		s.tails[name] = append([]byte(nil), chunk[len(chunk)-keep:]...)
		s.offsets[name] += int64(n)
	}
	return s.n
}
