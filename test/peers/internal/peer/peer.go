// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

// Package peer is what the contract peers share: an HTTP server on
// 127.0.0.1 that a test can take down, and the record of the contract
// breaches it saw.
package peer // import "github.com/policyaudit/policyaudit/test/peers/internal/peer"
import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
)

// Base is embedded by each peer's Server.
type Base struct {
	URL string

	srv  *httptest.Server
	down atomic.Bool

	mu         sync.Mutex
	violations []string
}

// Serve starts answering with h.
func (b *Base) Serve(h http.HandlerFunc) {
	b.srv = httptest.NewServer(h)
	b.URL = b.srv.URL
}

// ServeTLS starts answering with h over HTTPS, with a certificate of its
// own (Certificate), as peers of services that refuse plain HTTP do.
func (b *Base) ServeTLS(h http.HandlerFunc) {
	b.srv = httptest.NewTLSServer(h)
	b.URL = b.srv.URL
}

// Certificate is the DER certificate of a peer started with ServeTLS.
func (b *Base) Certificate() []byte { return b.srv.Certificate().Raw }

// Close stops the peer.
func (b *Base) Close() { b.srv.Close() }

// SetDown makes the peer refuse every request with 503 until called with
// false (each peer answers it in its own product's words).
func (b *Base) SetDown(down bool) { b.down.Store(down) }

// Down reports whether the peer is down.
func (b *Base) Down() bool { return b.down.Load() }

// Violations are the contract breaches seen so far.
func (b *Base) Violations() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.violations)
}

// Violation records a contract breach and returns its message.
func (b *Base) Violation(format string, args ...any) string {
	msg := fmt.Sprintf(format, args...)
	b.mu.Lock()
	b.violations = append(b.violations, msg)
	b.mu.Unlock()
	return msg
}
