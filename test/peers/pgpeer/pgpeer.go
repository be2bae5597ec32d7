// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

// Package pgpeer runs a real PostgreSQL server for tests: Debian's
// postgresql-15 binaries, a cluster initialised in a temporary directory,
// listening on a free port of 127.0.0.1 only, torn down with the test.
package pgpeer // import "github.com/policyaudit/policyaudit/test/peers/pgpeer"

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/policyaudit/policyaudit/test/freeport"
)

// Server is one PostgreSQL cluster.
type Server struct {
	Port int
	dir  string // the data directory
	bin  string
	cred *syscall.Credential // the unprivileged user it runs as when the tests run as root

	mu  sync.Mutex
	log bytes.Buffer
}

// binDir finds pg_ctl: POLICYAUDIT_PG_BIN, else the newest Debian install.
func binDir() (string, error) {
	if d := os.Getenv("POLICYAUDIT_PG_BIN"); d != "" {
		return d, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Strings(dirs)
	if len(dirs) == 0 {
		if p, err := exec.LookPath("pg_ctl"); err == nil {
			return filepath.Dir(p), nil
		}
		return "", fmt.Errorf("no PostgreSQL server: install Debian's postgresql (make tools) or set POLICYAUDIT_PG_BIN")
	}
	return dirs[len(dirs)-1], nil
}

// Start initialises a cluster and starts it; it is stopped when t ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s, err := Launch()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// Launch starts a server that outlives a test: a package's TestMain stops it.
func Launch() (*Server, error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	// PostgreSQL refuses to run as root: as root, the cluster belongs to
	// nobody, in a directory of its own outside the tests' 0700 temp dirs.
	dir, err := os.MkdirTemp("", "policyaudit-pg")
	if err != nil {
		return nil, err
	}
	s := &Server{dir: filepath.Join(dir, "data"), bin: bin}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("nobody")
		if err != nil {
			return nil, fmt.Errorf("running PostgreSQL as root's stand-in: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		s.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			return nil, err
		}
	}
	if err := s.run("initdb", "-D", s.dir, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--no-sync"); err != nil {
		return nil, err
	}
	if s.Port, err = freeport.Get(); err != nil {
		return nil, err
	}
	return s, s.Restart("")
}

// DSN of the database name on this server (created with CreateDatabase,
// or "postgres").
func (s *Server) DSN(database string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.Port, database)
}

// CreateDatabase creates an empty database and returns its DSN.
func (s *Server) CreateDatabase(t testing.TB, name string) string {
	t.Helper()
	if err := s.run("psql", "-h", "127.0.0.1", "-p", strconv.Itoa(s.Port), "-U", "postgres", "-d", "postgres",
		"-v", "ON_ERROR_STOP=1", "-q", "-c", "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	return s.DSN(name)
}

// Restart (re)starts the server; mode "" starts a stopped one, "immediate"
// stops it as a crash would (no checkpoint: recovery replays the WAL), "fast"
// as an operator's clean restart.
func (s *Server) Restart(mode string) error {
	args := []string{"-D", s.dir, "-w", "-t", "60", "-l", filepath.Join(s.dir, "server.log"),
		"-o", fmt.Sprintf("-p %d -c listen_addresses=127.0.0.1 -c unix_socket_directories= -c max_connections=200 -c fsync=on", s.Port)}
	if mode == "" {
		return s.run("pg_ctl", append([]string{"start"}, args...)...)
	}
	return s.run("pg_ctl", append([]string{"restart", "-m", mode}, args...)...)
}

// Stop stops the server (fast) and removes its files.
func (s *Server) Stop() {
	_ = s.run("pg_ctl", "stop", "-D", s.dir, "-m", "fast", "-w", "-t", "30")
	_ = os.RemoveAll(filepath.Dir(s.dir))
}

// DataDir is the cluster's data directory, for tests that read what the
// server keeps on disk (pg_wal under it holds the write-ahead log).
func (s *Server) DataDir() string { return s.dir }

// Log is the server's log, for failure messages.
func (s *Server) Log() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "server.log"))
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String() + string(b)
}

func (s *Server) run(tool string, args ...string) error {
	cmd := exec.Command(filepath.Join(s.bin, tool), args...)
	cmd.Dir = filepath.Dir(s.dir)
	if s.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	}
	out, err := cmd.CombinedOutput()
	s.mu.Lock()
	s.log.Write(out)
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("%s %v: %w\n%s", tool, args, err, out)
	}
	return nil
}

// WaitReady waits until the server accepts connections again (after an
// immediate restart, recovery runs first).
func (s *Server) WaitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		err := s.run("pg_isready", "-h", "127.0.0.1", "-p", strconv.Itoa(s.Port), "-q")
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}
