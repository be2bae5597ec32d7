// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package auditstoreextension

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/extension/extensiontest"

	"github.com/policyaudit/policyaudit/extension/auditstoreextension/internal/metadata"
)

// Retention runs at start: a store reopened 31 days after its records were
// stored purges them, moves the checkpoint, and still verifies; new records
// extend the chain from there.
func TestRetentionAtStartKeepsTheChainVerifiable(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "audit.db")
	storedAt := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	open := func(now time.Time) *auditStore {
		cfg := createDefaultConfig()
		cfg.Path = path
		cfg.Query.Endpoint = "127.0.0.1:0"
		cfg.RetentionDays = 30
		e, err := newAuditStore(extensiontest.NewNopSettings(metadata.Type), cfg)
		require.NoError(t, err)
		e.now = func() time.Time { return now }
		require.NoError(t, e.Start(ctx, componenttest.NewNopHost()))
		return e
	}
	appendFixture := func(e *auditStore, name string) {
		exp := newExporterOf(t, e)
		require.NoError(t, exp.ConsumeLogs(ctx, canonicalLogs(t, name)))
		require.NoError(t, exp.Shutdown(ctx))
	}

	e := open(storedAt)
	appendFixture(e, "router-verdicts.json")
	require.NoError(t, e.Shutdown(ctx))

	e = open(storedAt.Add(31 * 24 * time.Hour))
	defer func() { require.NoError(t, e.Shutdown(ctx)) }()
	require.Eventually(t, func() bool {
		rep, err := e.store.Verify(ctx)
		return err == nil && rep.Checkpoint.Seq == 4
	}, 10*time.Second, 20*time.Millisecond, "retention did not run at start")
	appendFixture(e, "admin-audit.ndjson")
	rep, err := e.store.Verify(ctx)
	require.NoError(t, err)
	assert.True(t, rep.OK, rep.Problem)
	assert.Equal(t, int64(3), rep.Records)
	assert.Equal(t, int64(7), rep.Head.Seq)
}
