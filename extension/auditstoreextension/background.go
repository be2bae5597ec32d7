// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package auditstoreextension

import (
	"context"
	"time"

	"go.uber.org/zap"

	store "github.com/policyaudit/policyaudit/internal/auditstore"
)

// signPeriodically signs the head every signing interval when records
// arrived since, so at most an interval's records are unsigned.
func (e *auditStore) signPeriodically(ctx context.Context, st *store.Store) {
	if st.Signer() == nil {
		return
	}
	ticker := time.NewTicker(e.cfg.Signing.Interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			e.signHead(ctx, st, store.SignedForInterval)
		}
	}
}

// signHead signs the head and logs the signed head, so a copy of it leaves
// the host with the collector's log: the anchor against a rolled-back file.
func (e *auditStore) signHead(ctx context.Context, st *store.Store, reason string) {
	before := st.LastSignedHead()
	if err := st.SignHead(ctx, reason); err != nil {
		if ctx.Err() == nil {
			e.set.Logger.Warn("Signing the audit store head failed; it will be tried again", zap.Error(err))
		}
		return
	}
	if sh := st.LastSignedHead(); sh != nil && sh != before {
		e.set.Logger.Info("Audit store head signed", zap.String("reason", reason),
			zap.String("statement", string(sh.Statement)), zap.String("signature", sh.Signature))
	}
}

// retain purges at start and then every retention_interval.
func (e *auditStore) retain(ctx context.Context, st *store.Store) {
	if e.cfg.RetentionDays == 0 {
		return
	}
	ticker := time.NewTicker(e.cfg.RetentionInterval)
	defer ticker.Stop()
	for {
		cutoff := e.now().Add(-time.Duration(e.cfg.RetentionDays) * 24 * time.Hour)
		n, err := st.Purge(ctx, cutoff)
		if err != nil && ctx.Err() == nil {
			e.set.Logger.Warn("Retention failed; it will run again", zap.Error(err))
		}
		if n > 0 {
			e.telemetry.AuditstorePurged.Add(ctx, n)
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}
