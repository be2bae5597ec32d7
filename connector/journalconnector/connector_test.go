// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package journalconnector

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pipeline"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// sink is a pipeline: it takes a batch unless fail says otherwise, and
// counts each record by its body.
type sink struct {
	mu    sync.Mutex
	seen  map[string]int
	fail  atomic.Value // func(plog.Logs) error
	calls atomic.Int64
}

func newSink() *sink {
	s := &sink{seen: map[string]int{}}
	s.fail.Store(func(plog.Logs) error { return nil })
	return s
}

func (s *sink) Capabilities() consumer.Capabilities { return consumer.Capabilities{MutatesData: true} }

func (s *sink) ConsumeLogs(_ context.Context, ld plog.Logs) error {
	s.calls.Add(1)
	if err := s.fail.Load().(func(plog.Logs) error)(ld); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := 0; i < ld.ResourceLogs().Len(); i++ {
		sl := ld.ResourceLogs().At(i).ScopeLogs()
		for k := 0; k < sl.Len(); k++ {
			lr := sl.At(k).LogRecords()
			for m := 0; m < lr.Len(); m++ {
				s.seen[lr.At(m).Body().Str()]++
			}
		}
	}
	return nil
}

// counts returns how many distinct records arrived and how many more than once.
func (s *sink) counts() (distinct, twice int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range s.seen {
		if n > 1 {
			twice++
		}
	}
	return len(s.seen), twice
}

func request(first, n int) plog.Logs {
	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for i := first; i < first+n; i++ {
		lr.AppendEmpty().Body().SetStr(fmt.Sprintf("record-%06d", i))
	}
	return ld
}

func testConfig(t *testing.T, dir string) *Config {
	cfg := createDefaultConfig()
	cfg.Directory = dir
	cfg.SegmentBytes = 1 << 16
	cfg.MaxBytes = 1 << 24
	cfg.Batch.MaxRecords = 300
	cfg.Retry = RetryConfig{InitialInterval: 10 * time.Millisecond, MaxInterval: 50 * time.Millisecond}
	require.NoError(t, cfg.Validate())
	return cfg
}

func start(t *testing.T, cfg *Config, sinks map[string]*sink) *journalConnector {
	t.Helper()
	routes := map[pipeline.ID]consumer.Logs{}
	for name, s := range sinks {
		routes[pipeline.NewIDWithName(pipeline.SignalLogs, name)] = s
	}
	c, err := NewFactory().CreateLogsToLogs(context.Background(), connectortest.NewNopSettings(NewFactory().Type()), cfg, connector.NewLogsRouter(routes))
	require.NoError(t, err)
	require.NoError(t, c.Start(context.Background(), componenttest.NewNopHost()))
	return c.(*journalConnector)
}

func send(t *testing.T, c *journalConnector, requests, size int) {
	t.Helper()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < requests; i += 4 {
				assert.NoError(t, c.ConsumeLogs(context.Background(), request(i*size, size)))
			}
		}()
	}
	wg.Wait()
}

func allArrived(s *sink, n int) func() bool {
	return func() bool { d, _ := s.counts(); return d == n }
}

func TestEveryPipelineGetsEveryRecordAndAFailingOneHoldsBackOnlyItself(t *testing.T) {
	s3, splunk, elastic := newSink(), newSink(), newSink()
	down := errors.New("503 from the destination")
	elastic.fail.Store(func(ld plog.Logs) error {
		// A processor that changed the batch before the export failed: the
		// retry must not see the change.
		ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Body().SetStr("changed")
		return down
	})
	c := start(t, testConfig(t, t.TempDir()), map[string]*sink{"s3": s3, "splunk": splunk, "elastic": elastic})
	send(t, c, 100, 50)
	require.Eventually(t, allArrived(s3, 5000), 10*time.Second, 10*time.Millisecond)
	require.Eventually(t, allArrived(splunk, 5000), 10*time.Second, 10*time.Millisecond)
	d, _ := elastic.counts()
	assert.Zero(t, d)
	assert.Greater(t, c.j.size(), int64(100000), "held for the pipeline that has not taken it")

	elastic.fail.Store(func(plog.Logs) error { return nil })
	require.Eventually(t, allArrived(elastic, 5000), 10*time.Second, 10*time.Millisecond)
	for name, s := range map[string]*sink{"s3": s3, "splunk": splunk, "elastic": elastic} {
		d, twice := s.counts()
		assert.Equal(t, 5000, d, name)
		assert.Zero(t, twice, name)
		assert.NotContains(t, s.seen, "changed", name)
	}
	require.Eventually(t, func() bool { c.j.mu.Lock(); defer c.j.mu.Unlock(); return len(c.j.segments) == 1 }, 5*time.Second, 10*time.Millisecond, "released once every pipeline is past")
	require.NoError(t, c.Shutdown(context.Background()))
	require.NoError(t, c.Shutdown(context.Background()), "shutting down twice")
}

func TestARestartDeliversWhatAPipelineHadNotTakenAndNothingTwice(t *testing.T) {
	dir := t.TempDir()
	audit, splunk := newSink(), newSink()
	splunk.fail.Store(func(plog.Logs) error { return errors.New("HEC is down") })
	c := start(t, testConfig(t, dir), map[string]*sink{"audit": audit, "splunk": splunk})
	send(t, c, 40, 25)
	require.Eventually(t, allArrived(audit, 1000), 10*time.Second, 10*time.Millisecond)
	require.NoError(t, c.Shutdown(context.Background()))

	audit2, splunk2 := newSink(), newSink()
	c = start(t, testConfig(t, dir), map[string]*sink{"audit": audit2, "splunk": splunk2})
	defer func() { require.NoError(t, c.Shutdown(context.Background())) }()
	require.Eventually(t, allArrived(splunk2, 1000), 10*time.Second, 10*time.Millisecond)
	send(t, c, 4, 25)
	require.Eventually(t, allArrived(audit2, 100), 10*time.Second, 10*time.Millisecond)
	time.Sleep(100 * time.Millisecond)
	d, _ := audit2.counts()
	assert.Equal(t, 100, d, "the pipeline that had taken everything gets only what is new")
}

func TestAFullJournalRefusesWithARetryableErrorAndTakesAgainOnceDrained(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.MaxBytes = 2 * cfg.SegmentBytes
	slow := newSink()
	var blocked atomic.Bool
	blocked.Store(true)
	slow.fail.Store(func(plog.Logs) error {
		if blocked.Load() {
			return errors.New("down")
		}
		return nil
	})
	c := start(t, cfg, map[string]*sink{"slow": slow})
	defer func() { require.NoError(t, c.Shutdown(context.Background())) }()
	var accepted int
	var err error
	for i := 0; i < 200; i++ { // the journal of 128 KiB holds about 50
		if err = c.ConsumeLogs(context.Background(), request(i*50, 50)); err != nil {
			break
		}
		accepted++
	}
	require.Error(t, err)
	assert.False(t, consumererror.IsPermanent(err), "the sender is told to retry: the receiver answers 503")
	assert.Positive(t, accepted)
	blocked.Store(false)
	require.Eventually(t, allArrived(slow, accepted*50), 10*time.Second, 10*time.Millisecond)
	require.Eventually(t, func() bool { return c.ConsumeLogs(context.Background(), request(1_000_000, 1)) == nil }, 5*time.Second, 10*time.Millisecond)
}

func TestARecordRefusedForGoodIsNotRetried(t *testing.T) {
	bad := newSink()
	bad.fail.Store(func(plog.Logs) error { return consumererror.NewPermanent(errors.New("400 bad request")) })
	c := start(t, testConfig(t, t.TempDir()), map[string]*sink{"bad": bad})
	defer func() { require.NoError(t, c.Shutdown(context.Background())) }()
	require.NoError(t, c.ConsumeLogs(context.Background(), request(0, 10)))
	require.Eventually(t, func() bool { return bad.calls.Load() == 1 }, 5*time.Second, 5*time.Millisecond)
	time.Sleep(100 * time.Millisecond)
	assert.Equal(t, int64(1), bad.calls.Load())
}

func TestShutdownHonoursItsDeadlineWhenAPipelineHangs(t *testing.T) {
	hang := newSink()
	release := make(chan struct{})
	hang.fail.Store(func(plog.Logs) error { <-release; return nil })
	c := start(t, testConfig(t, t.TempDir()), map[string]*sink{"hang": hang})
	require.NoError(t, c.ConsumeLogs(context.Background(), request(0, 1)))
	require.Eventually(t, func() bool { return hang.calls.Load() == 1 }, 5*time.Second, 5*time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	began := time.Now()
	assert.ErrorIs(t, c.Shutdown(ctx), context.DeadlineExceeded)
	assert.Less(t, time.Since(began), 2*time.Second)
	// The pipeline answers after all: the delivery loop ends (and saves its
	// cursor) before the test's directory goes.
	close(release)
	c.done.Wait()
}

func TestANewPipelineStartsAtTheOldestEntryHeld(t *testing.T) {
	dir := t.TempDir()
	first := newSink()
	c := start(t, testConfig(t, dir), map[string]*sink{"first": first})
	send(t, c, 10, 10)
	require.Eventually(t, allArrived(first, 100), 5*time.Second, 5*time.Millisecond)
	require.NoError(t, c.Shutdown(context.Background()))

	again, added := newSink(), newSink()
	c = start(t, testConfig(t, dir), map[string]*sink{"first": again, "added": added})
	defer func() { require.NoError(t, c.Shutdown(context.Background())) }()
	require.Eventually(t, allArrived(added, 100), 5*time.Second, 5*time.Millisecond)
	d, _ := again.counts()
	assert.Zero(t, d)
}

func TestAPipelineWaitsForMinBytesOrTheFlushTimeout(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.Batch.MinBytes = 1 << 20
	cfg.Batch.FlushTimeout = 300 * time.Millisecond
	s := newSink()
	c := start(t, cfg, map[string]*sink{"s3": s})
	defer func() { require.NoError(t, c.Shutdown(context.Background())) }()
	began := time.Now()
	for i := range 5 {
		require.NoError(t, c.ConsumeLogs(context.Background(), request(i*10, 10)))
	}
	require.Eventually(t, allArrived(s, 50), 5*time.Second, 5*time.Millisecond)
	assert.GreaterOrEqual(t, time.Since(began), 300*time.Millisecond, "held until the flush timeout")
	assert.Equal(t, int64(1), s.calls.Load(), "five small requests in one delivery")
}

// The README's claim: an entry changed on disk fails its checksum, the rest
// of its segment is skipped with an error, and the later segments are
// delivered.
func TestAnEntryChangedOnDiskSkipsTheRestOfItsSegment(t *testing.T) {
	dir := t.TempDir()
	blocked := newSink()
	var down atomic.Bool
	down.Store(true)
	blocked.fail.Store(func(plog.Logs) error {
		if down.Load() {
			return errors.New("down")
		}
		return nil
	})
	c := start(t, testConfig(t, dir), map[string]*sink{"s3": blocked})
	for i := range 200 {
		require.NoError(t, c.ConsumeLogs(context.Background(), request(i*50, 50)))
	}
	require.NoError(t, c.Shutdown(context.Background()))
	require.Greater(t, len(c.j.segments), 2)

	// One byte of the first segment's first payload, as a hostile host
	// could change it.
	first := c.j.path(c.j.segments[0].seq)
	b, err := os.ReadFile(first)
	require.NoError(t, err)
	b[headerSize+10] ^= 0xff
	require.NoError(t, os.WriteFile(first, b, 0o600))

	core, logs := observer.New(zap.WarnLevel)
	set := connectortest.NewNopSettings(NewFactory().Type())
	set.Logger = zap.New(core)
	s := newSink()
	next, err := NewFactory().CreateLogsToLogs(context.Background(), set, testConfig(t, dir),
		connector.NewLogsRouter(map[pipeline.ID]consumer.Logs{pipeline.NewIDWithName(pipeline.SignalLogs, "s3"): s}))
	require.NoError(t, err)
	require.NoError(t, next.Start(context.Background(), componenttest.NewNopHost()))
	defer func() { require.NoError(t, next.Shutdown(context.Background())) }()
	require.Eventually(t, func() bool { d, _ := s.counts(); return d > 0 }, 5*time.Second, 10*time.Millisecond)
	time.Sleep(200 * time.Millisecond)
	d, twice := s.counts()
	assert.Less(t, d, 10000, "the first segment's records are skipped")
	assert.Greater(t, d, 5000, "the later segments are delivered")
	assert.NotContains(t, s.seen, "record-000000")
	assert.Contains(t, s.seen, "record-009999")
	assert.Zero(t, twice)
	assert.Equal(t, 1, logs.FilterMessageSnippet("fails its checksum").Len())
}
