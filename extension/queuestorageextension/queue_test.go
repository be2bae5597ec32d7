// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package queuestorageextension

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/storagetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/plog"
)

// startQueuedExporter starts an exporter behind the collector's persistent
// queue, kept by a queue_storage extension in dir.
func startQueuedExporter(t *testing.T, dir string, push func(context.Context, plog.Logs) error) (exporter.Logs, *queueStorage) {
	t.Helper()
	cfg := createDefaultConfig()
	cfg.Directory = dir
	ext := newQueueStorage(cfg)
	id := component.MustNewID("queue_storage")
	host := storagetest.NewStorageHost().WithExtension(id, ext)
	require.NoError(t, ext.Start(context.Background(), host))

	q := exporterhelper.NewDefaultQueueConfig()
	q.StorageID = &id
	q.NumConsumers = 2
	q.Batch = configoptional.None[exporterhelper.BatchConfig]()
	retry := configretry.NewDefaultBackOffConfig()
	retry.InitialInterval = 10 * time.Millisecond
	retry.MaxElapsedTime = 0
	set := exportertest.NewNopSettings(component.MustNewType("queued"))
	set.ID = component.MustNewID("queued") // the same queue after the restart
	exp, err := exporterhelper.NewLogs(context.Background(), set, &struct{}{}, push,
		exporterhelper.WithQueue(q), exporterhelper.WithRetry(retry))
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), host))
	return exp, ext
}

func logsOf(n int) plog.Logs {
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for range n {
		lrs.AppendEmpty().Body().SetStr("a policy decision of a few hundred bytes, repeated to make the request large enough to get a file of its own")
	}
	return ld
}

// TestPersistentQueueSurvivesARestart: the collector's persistent queue
// over queue_storage keeps what it acknowledged while its destination was
// down, across a restart, and delivers all of it once the destination is
// back.
func TestPersistentQueueSurvivesARestart(t *testing.T) {
	dir := t.TempDir()
	var attempts atomic.Int64
	down, ext := startQueuedExporter(t, dir, func(context.Context, plog.Logs) error {
		attempts.Add(1)
		return errors.New("destination unreachable")
	})
	const requests, records = 30, 200
	for range requests {
		require.NoError(t, down.ConsumeLogs(context.Background(), logsOf(records)))
	}
	require.Eventually(t, func() bool { return attempts.Load() > 2 }, 5*time.Second, 10*time.Millisecond)
	require.NoError(t, down.Shutdown(context.Background()))
	require.NoError(t, ext.Shutdown(context.Background()))

	var delivered atomic.Int64
	up, ext := startQueuedExporter(t, dir, func(_ context.Context, ld plog.Logs) error {
		delivered.Add(int64(ld.LogRecordCount()))
		return nil
	})
	assert.Eventually(t, func() bool { return delivered.Load() == requests*records }, 10*time.Second, 10*time.Millisecond)
	require.NoError(t, up.Shutdown(context.Background()))
	require.NoError(t, ext.Shutdown(context.Background()))
	assert.Equal(t, int64(requests*records), delivered.Load(), "every record once")
}
