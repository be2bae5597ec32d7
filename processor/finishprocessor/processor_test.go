// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package finishprocessor

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/confmap/xconfmap"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/policyaudit/policyaudit/processor/finishprocessor/internal/metadata"
)

func TestLoadConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	for name, want := range map[string]time.Duration{"": 45 * time.Second, "short": 5 * time.Second} {
		sub, err := cm.Sub(component.NewIDWithName(metadata.Type, name).String())
		require.NoError(t, err)
		cfg := createDefaultConfig()
		require.NoError(t, sub.Unmarshal(cfg))
		require.NoError(t, xconfmap.Validate(cfg))
		assert.Equal(t, want, cfg.Grace)
	}
	sub, err := cm.Sub(component.NewIDWithName(metadata.Type, "zero").String())
	require.NoError(t, err)
	cfg := createDefaultConfig()
	require.NoError(t, sub.Unmarshal(cfg))
	assert.ErrorContains(t, xconfmap.Validate(cfg), "grace: must be positive")
}

// exporter stands for an exporter retrying without a time limit: it
// returns once the destination answers, or with the context's error.
type exporter struct{ answer chan struct{} }

func (e exporter) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (e exporter) ConsumeLogs(ctx context.Context, _ plog.Logs) error {
	select {
	case <-e.answer:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func newProcessor(t *testing.T, grace time.Duration, next consumer.Logs) *finishProcessor {
	cfg := createDefaultConfig()
	cfg.Grace = grace
	p, err := NewFactory().CreateLogs(context.Background(), processortest.NewNopSettings(metadata.Type), cfg, next)
	require.NoError(t, err)
	return p.(*finishProcessor)
}

// A Kafka partition revoked mid-export: the export still finishes and no
// error reaches the receiver (which would pause the partition for good).
func TestABatchFinishesAfterTheCallerStoppedWaiting(t *testing.T) {
	e := exporter{answer: make(chan struct{})}
	p := newProcessor(t, time.Minute, e)
	ctx, revoke := context.WithCancelCause(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.ConsumeLogs(ctx, plog.NewLogs()) }()
	revoke(errors.New("stopping processing: partition reassigned or lost"))
	select {
	case err := <-done:
		t.Fatalf("returned when the caller stopped waiting: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	close(e.answer)
	require.NoError(t, <-done)
}

// Past the grace period the pipeline's context ends: a destination that
// stays down cannot hold a rebalance (or a shutdown) for ever.
func TestTheGraceEnds(t *testing.T) {
	p := newProcessor(t, 100*time.Millisecond, exporter{answer: make(chan struct{})})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	began := time.Now()
	err := p.ConsumeLogs(ctx, plog.NewLogs())
	assert.ErrorIs(t, err, context.Canceled)
	assert.GreaterOrEqual(t, time.Since(began), 100*time.Millisecond)
	assert.Less(t, time.Since(began), 5*time.Second)
}

func TestAnExportThatSucceedsReturnsAtOnce(t *testing.T) {
	e := exporter{answer: make(chan struct{})}
	close(e.answer)
	p := newProcessor(t, time.Hour, e)
	require.NoError(t, p.ConsumeLogs(context.Background(), plog.NewLogs()))
}
