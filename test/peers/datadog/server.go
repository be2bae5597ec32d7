// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

// Package datadog is a test peer for the Datadog exporter: an HTTP server
// that holds the documented contract of the Datadog Logs intake v2
// (POST /api/v2/logs) and refuses what the intake refuses. Datadog's own
// fakeintake is not served on the test machines, so the tests run against
// this contract instead, and say so.
//
// What it checks on every logs request:
//   - the DD-API-KEY header (403 otherwise, as the intake answers);
//   - Content-Type application/json, Content-Encoding gzip, deflate, zstd or none;
//   - the payload is a JSON array of at most 1000 log objects (or one
//     object), at most 5 MB uncompressed;
//   - a log over 1 MB is accepted and truncated: its message is cut so the
//     log fits, and what was cut is lost (Log.Truncated);
//   - a log dated more than 18 hours in the past or 2 hours in the future
//     is accepted (202) and dropped (Stale): its date is the message's
//     @timestamp if it has one (the Datadog exporter sets it from the log
//     record's time), else the payload's timestamp (the time it was sent);
//   - each log's reserved attributes have their documented types: message,
//     ddsource, ddtags, hostname, service and status are strings, and ddtags
//     is a comma-separated list of tags.
//
// Like the intake, it parses a message that is a JSON object into the log's
// attributes; the Datadog exporter sends each record that way.
package datadog // import "github.com/policyaudit/policyaudit/test/peers/datadog"
import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/policyaudit/policyaudit/test/peers/internal/peer"
)

// Limits of the Logs intake v2 (docs.datadoghq.com, "Send logs").
const (
	maxPayloadBytes = 5 << 20
	maxLogBytes     = 1 << 20
	maxLogsPerArray = 1000
	maxAge          = 18 * time.Hour
	maxAhead        = 2 * time.Hour
)

// Log is one accepted log as the intake would store it.
type Log struct {
	Message    string
	Source     string // ddsource
	Service    string
	Hostname   string
	Status     string
	Tags       []string       // ddtags, split
	Attributes map[string]any // the message parsed as JSON, when it is an object
	Time       time.Time      // the log's date, as the intake reads it
	Truncated  bool           // over 1 MB: the intake cut its message
}

// Tag returns the value of the first tag named key.
func (l Log) Tag(key string) (string, bool) {
	for _, t := range l.Tags {
		if k, v, ok := strings.Cut(t, ":"); ok && k == key {
			return v, true
		}
	}
	return "", false
}

// Server is the peer. Create it with Start.
type Server struct {
	peer.Base
	APIKey string

	mu    sync.Mutex
	logs  []Log
	stale int
	now   func() time.Time
	delay time.Duration
}

// Start runs the peer on 127.0.0.1.
func Start(apiKey string) *Server {
	s := &Server{APIKey: apiKey, now: time.Now}
	s.Serve(s.serve)
	return s
}

// SetClock replaces the intake's clock: a test moves it ahead to see what
// the intake does with records that waited that long.
func (s *Server) SetClock(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// SetDelay makes the intake answer a logs request only after d, as the real
// one does from a WAN round trip away: an exporter that reports success
// before the answer shows its losses only against a slow intake. The logs
// are accepted when the answer is sent, not before.
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// Stale counts logs accepted and dropped for their date.
func (s *Server) Stale() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stale
}

// Logs returns every accepted log in arrival order.
func (s *Server) Logs() []Log {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.logs)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if s.Down() {
		http.Error(w, `{"errors":["peer is down for the test"]}`, http.StatusServiceUnavailable)
		return
	}
	if r.Header.Get("DD-API-KEY") != s.APIKey {
		http.Error(w, `{"errors":["Forbidden"]}`, http.StatusForbidden)
		return
	}
	switch r.URL.Path {
	case "/api/v2/logs":
		s.mu.Lock()
		delay := s.delay
		s.mu.Unlock()
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return // the client gave up: nothing accepted
		}
		s.intake(w, r)
	case "/api/v1/validate":
		_, _ = io.WriteString(w, `{"valid":true}`)
	default:
		// Host metadata and the like: accepted, not part of the contract.
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, `{}`)
	}
}

func (s *Server) refuse(w http.ResponseWriter, status int, format string, args ...any) {
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"errors": []string{s.Violation(format, args...)}})
}

func (s *Server) intake(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		s.refuse(w, http.StatusMethodNotAllowed, "logs intake: method %s, want POST", r.Method)
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		s.refuse(w, http.StatusBadRequest, "logs intake: Content-Type %q, want application/json", ct)
		return
	}
	body, err := decode(r)
	if err != nil {
		s.refuse(w, http.StatusBadRequest, "logs intake: %v", err)
		return
	}
	if len(body) > maxPayloadBytes {
		s.refuse(w, http.StatusRequestEntityTooLarge, "logs intake: payload of %d bytes exceeds 5 MB", len(body))
		return
	}
	var items []json.RawMessage
	if trimmed := bytes.TrimSpace(body); len(trimmed) > 0 && trimmed[0] == '{' {
		items = []json.RawMessage{trimmed}
	} else if err := json.Unmarshal(body, &items); err != nil {
		s.refuse(w, http.StatusBadRequest, "logs intake: the payload is not a JSON array of logs: %v", err)
		return
	}
	if len(items) > maxLogsPerArray {
		s.refuse(w, http.StatusRequestEntityTooLarge, "logs intake: %d logs in one array, at most %d", len(items), maxLogsPerArray)
		return
	}
	s.mu.Lock()
	now := s.now()
	s.mu.Unlock()
	accepted := make([]Log, 0, len(items))
	stale := 0
	for i, raw := range items {
		if string(bytes.TrimSpace(raw)) == "{}" {
			continue // the logs agent's connectivity check: no log
		}
		l, err := parseLog(raw, now)
		if err != nil {
			s.refuse(w, http.StatusBadRequest, "logs intake: log %d: %v", i, err)
			return
		}
		if l.Time.Before(now.Add(-maxAge)) || l.Time.After(now.Add(maxAhead)) {
			stale++
			continue
		}
		accepted = append(accepted, l)
	}
	s.mu.Lock()
	s.logs = append(s.logs, accepted...)
	s.stale += stale
	s.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
	_, _ = io.WriteString(w, `{}`)
}

func decode(r *http.Request) ([]byte, error) {
	limited := io.LimitReader(r.Body, 64<<20)
	var rd io.Reader
	switch enc := r.Header.Get("Content-Encoding"); enc {
	case "", "identity":
		rd = limited
	case "gzip":
		zr, err := gzip.NewReader(limited)
		if err != nil {
			return nil, fmt.Errorf("Content-Encoding gzip: %w", err)
		}
		rd = zr
	case "deflate":
		zr, err := zlib.NewReader(limited)
		if err != nil {
			return nil, fmt.Errorf("Content-Encoding deflate: %w", err)
		}
		rd = zr
	case "zstd":
		zr, err := zstd.NewReader(limited)
		if err != nil {
			return nil, fmt.Errorf("Content-Encoding zstd: %w", err)
		}
		defer zr.Close()
		rd = zr
	default:
		return nil, fmt.Errorf("unsupported Content-Encoding %q", enc)
	}
	b, err := io.ReadAll(io.LimitReader(rd, maxPayloadBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading the payload: %w", err)
	}
	return b, nil
}

// parseLog reads one log as the intake stores it, at the intake's time now.
func parseLog(raw json.RawMessage, now time.Time) (Log, error) {
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return Log{}, fmt.Errorf("not a JSON object: %v", err)
	}
	str := func(key string) (string, error) {
		v, ok := m[key]
		if !ok || v == nil {
			return "", nil
		}
		s, isStr := v.(string)
		if !isStr {
			return "", fmt.Errorf("%s is %T, must be a string", key, v)
		}
		return s, nil
	}
	var l Log
	var err error
	for key, dst := range map[string]*string{"message": &l.Message, "ddsource": &l.Source, "service": &l.Service, "hostname": &l.Hostname, "status": &l.Status} {
		if *dst, err = str(key); err != nil {
			return Log{}, err
		}
	}
	tags, err := str("ddtags")
	if err != nil {
		return Log{}, err
	}
	if tags != "" {
		for _, t := range strings.Split(tags, ",") {
			if strings.TrimSpace(t) == "" {
				return Log{}, fmt.Errorf("ddtags %q has an empty tag", tags)
			}
			l.Tags = append(l.Tags, t)
		}
	}
	if over := len(raw) - maxLogBytes; over > 0 {
		l.Truncated = true
		l.Message = l.Message[:max(0, len(l.Message)-over)]
	}
	if strings.HasPrefix(strings.TrimSpace(l.Message), "{") {
		var attrs map[string]any
		if json.Unmarshal([]byte(l.Message), &attrs) == nil {
			l.Attributes = attrs
		}
	}
	l.Time = now
	if ms, ok := m["timestamp"].(float64); ok {
		l.Time = time.UnixMilli(int64(ms))
	}
	if date, ok := l.Attributes["@timestamp"].(string); ok {
		if t, err := time.Parse(time.RFC3339Nano, date); err == nil {
			l.Time = t
		}
	}
	return l, nil
}
