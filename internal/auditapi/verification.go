// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package auditapi

import (
	"context"
	"sync"
	"time"

	store "github.com/policyaudit/policyaudit/internal/auditstore"
)

// Verifications is the newest whole-chain verification (the API's or the
// console's), which the console's integrity page shows with its time:
// walking a chain of millions of records takes seconds (make
// bench-auditstore).
type Verifications struct {
	mu     sync.Mutex
	report store.Report
	at     time.Time
	took   time.Duration
}

// VerifyChain verifies the whole chain now and keeps the outcome.
func (a *API) VerifyChain(ctx context.Context) (store.Report, error) {
	start := time.Now()
	rep, err := a.store.Verify(ctx)
	if err != nil {
		return rep, err
	}
	a.checks.mu.Lock()
	a.checks.report, a.checks.at, a.checks.took = rep, a.now(), time.Since(start)
	a.checks.mu.Unlock()
	return rep, nil
}

// LastVerified is the newest verification, false before the first.
func (a *API) LastVerified() (store.Report, time.Time, time.Duration, bool) {
	a.checks.mu.Lock()
	defer a.checks.mu.Unlock()
	return a.checks.report, a.checks.at, a.checks.took, !a.checks.at.IsZero()
}
