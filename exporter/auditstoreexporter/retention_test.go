// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package auditstoreexporter

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/exporter/exportertest"

	"github.com/policyaudit/policyaudit/exporter/auditstoreexporter/internal/metadata"
)

// Retention runs at start: a store reopened 31 days after its records were
// stored purges them, moves the checkpoint, and still verifies; new records
// extend the chain from there.
func TestRetentionAtStartKeepsTheChainVerifiable(t *testing.T) {
	ctx := context.Background()
	cfg := createDefaultConfig()
	cfg.Path = filepath.Join(t.TempDir(), "audit.db")
	cfg.Query.Endpoint = "127.0.0.1:0"
	cfg.RetentionDays = 30

	storedAt := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	open := func(now time.Time) *auditStore {
		e, err := newAuditStore(exportertest.NewNopSettings(metadata.Type), cfg)
		require.NoError(t, err)
		e.now = func() time.Time { return now }
		require.NoError(t, e.start(ctx, componenttest.NewNopHost()))
		return e
	}

	e := open(storedAt)
	require.NoError(t, e.pushLogs(ctx, canonicalLogs(t, "router-verdicts.json")))
	require.NoError(t, e.shutdown(ctx))

	e = open(storedAt.Add(31 * 24 * time.Hour))
	defer func() { require.NoError(t, e.shutdown(ctx)) }()
	require.Eventually(t, func() bool {
		rep, err := e.store.Verify(ctx)
		return err == nil && rep.Checkpoint.Seq == 4
	}, 10*time.Second, 20*time.Millisecond, "retention did not run at start")
	require.NoError(t, e.pushLogs(ctx, canonicalLogs(t, "admin-audit.ndjson")))
	rep, err := e.store.Verify(ctx)
	require.NoError(t, err)
	assert.True(t, rep.OK, rep.Problem)
	assert.Equal(t, int64(3), rep.Records)
	assert.Equal(t, int64(7), rep.Head.Seq)
}
