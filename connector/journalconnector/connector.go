// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package journalconnector

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pipeline"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/policyaudit/policyaudit/connector/journalconnector/internal/metadata"
)

type journalConnector struct {
	cfg       *Config
	logger    *zap.Logger
	telemetry *metadata.TelemetryBuilder
	outputs   []output

	j      *journal
	cancel context.CancelFunc
	done   sync.WaitGroup
	// shutdownOnce makes a second Shutdown a no-op.
	shutdownOnce sync.Once
	shutdownErr  error

	// cursorsMu guards the positions the pipelines have saved, which decide
	// what the journal may release.
	cursorsMu sync.Mutex
	cursors   map[string]position
}

// output is one pipeline the journal feeds.
type output struct {
	name string
	next consumer.Logs
}

func newJournalConnector(set connector.Settings, cfg *Config, next consumer.Logs) (*journalConnector, error) {
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	c := &journalConnector{cfg: cfg, logger: set.Logger, telemetry: tb, cursors: map[string]position{}}
	if router, ok := next.(connector.LogsRouterAndConsumer); ok {
		ids := router.PipelineIDs()
		slices.SortFunc(ids, func(a, b pipeline.ID) int { return cmp.Compare(a.String(), b.String()) })
		for _, id := range ids {
			cons, err := router.Consumer(id)
			if err != nil {
				return nil, err
			}
			c.outputs = append(c.outputs, output{name: id.String(), next: cons})
		}
	} else {
		c.outputs = []output{{name: "default", next: next}}
	}
	return c, nil
}

func (c *journalConnector) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: false}
}

// Start opens the journal and starts one delivery loop per pipeline.
func (c *journalConnector) Start(_ context.Context, _ component.Host) error {
	if c.cfg.CreateDirectory {
		if err := os.MkdirAll(c.cfg.Directory, 0o700); err != nil {
			return fmt.Errorf("journal directory: %w", err)
		}
	}
	j, err := openJournal(c.cfg.Directory, c.cfg.Fsync, c.cfg.SegmentBytes, c.cfg.MaxBytes)
	if err != nil {
		return fmt.Errorf("opening the journal in %s: %w", c.cfg.Directory, err)
	}
	c.j = j
	if j.cut > 0 {
		// A crash in the middle of a write, or the file changed on disk: what
		// was cut was never acknowledged in the first case, and is lost in the
		// second.
		c.logger.Warn("Cut the journal's last segment at its last whole entry", zap.Int64("bytes", j.cut))
	}
	if err := c.telemetry.RegisterConnectorJournalSizeCallback(func(_ context.Context, o metric.Int64Observer) error {
		o.Observe(j.size())
		return nil
	}); err != nil {
		return err
	}
	end, _ := j.end()
	oldest := j.oldest()
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	for _, out := range c.outputs {
		path := cursorPath(c.cfg.Directory, out.name)
		pos, ok := loadCursor(path)
		switch {
		case !ok || pos.before(oldest):
			// A pipeline new to the journal, or one whose cursor was lost:
			// everything still held, so nothing is skipped.
			pos = oldest
		case end.before(pos):
			// Past the end: only with fsync off, after a power cut took
			// the tail away.
			pos = end
		}
		c.cursors[out.name] = pos
	}
	// Every cursor is known before any pipeline can release a segment.
	starts := maps.Clone(c.cursors)
	for _, out := range c.outputs {
		c.done.Add(1)
		go c.deliver(ctx, out, &reader{j: j, pos: starts[out.name]}, cursorPath(c.cfg.Directory, out.name))
	}
	return nil
}

// ConsumeLogs writes the request to the journal and returns once it is
// durable. A full journal refuses it with a retryable error.
func (c *journalConnector) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	n := ld.LogRecordCount()
	if n == 0 {
		return nil
	}
	if c.j == nil {
		return errors.New("the journal is not started")
	}
	payload, err := (&plog.ProtoMarshaler{}).MarshalLogs(ld)
	if err != nil {
		return consumererror.NewPermanent(err)
	}
	if err := c.j.append(payload); err != nil {
		if errors.Is(err, errFull) {
			c.telemetry.ConnectorJournalRefusedRecords.Add(ctx, int64(n))
		}
		return err
	}
	c.telemetry.ConnectorJournalAppendedRecords.Add(ctx, int64(n))
	return nil
}

// deliver feeds one pipeline from its cursor until ctx ends: a batch of
// entries, decoded, given to the pipeline; retried, with a growing wait,
// until the pipeline takes it or refuses it for good.
func (c *journalConnector) deliver(ctx context.Context, out output, r *reader, path string) {
	defer c.done.Done()
	defer r.close()
	attrs := metric.WithAttributeSet(attribute.NewSet(attribute.String("pipeline", out.name)))
	wait := c.cfg.Retry.InitialInterval
	var pendingSince time.Time // when the entries now waiting were first seen
	for {
		end, advanced := c.j.end()
		if !r.pos.before(end) {
			select {
			case <-ctx.Done():
				return
			case <-advanced:
				continue
			}
		}
		if c.cfg.Batch.FlushTimeout > 0 && c.j.bytesAfter(r.pos) < int64(c.cfg.Batch.MinBytes) {
			if pendingSince.IsZero() {
				pendingSince = time.Now()
			}
			if left := c.cfg.Batch.FlushTimeout - time.Since(pendingSince); left > 0 {
				timer := time.NewTimer(left)
				select {
				case <-ctx.Done():
					timer.Stop()
					return
				case <-advanced:
				case <-timer.C:
				}
				timer.Stop()
				continue
			}
		}
		pendingSince = time.Time{}
		payloads, next, err := r.read(c.cfg.Batch.MaxBytes)
		if err != nil && len(payloads) == 0 {
			if errors.Is(err, errCorrupt) && r.skipCorrupt() {
				c.logger.Error("Skipped the rest of a journal segment that fails its checksum", zap.String("pipeline", out.name), zap.Error(err))
				c.saved(out.name, path, r.pos)
				continue
			}
			// Corrupt in the segment being written (nothing after it to go
			// on to yet), or unreadable: wait, as for any failure.
			c.logger.Warn("Reading the journal failed; retrying", zap.String("pipeline", out.name), zap.Error(err))
			if !sleep(ctx, wait) {
				return
			}
			wait = min(2*wait, c.cfg.Retry.MaxInterval)
			continue
		}
		if len(payloads) == 0 {
			continue
		}
		for _, group := range c.groups(payloads) {
			if !c.deliverBatch(ctx, out, group, attrs) {
				return
			}
		}
		wait = c.cfg.Retry.InitialInterval
		r.advance(next)
		c.saved(out.name, path, next)
	}
}

// groups splits the entries read into batches of at most batch.max_records
// records (an entry larger than that is a batch of its own), decoded.
func (c *journalConnector) groups(payloads [][]byte) []group {
	var out []group
	var cur group
	for _, p := range payloads {
		ld, err := decode(p)
		if err != nil {
			// The checksum matched what was written: an encoding this
			// build cannot read. Nothing can deliver it.
			c.logger.Error("Dropping a journal entry that does not decode", zap.Error(err))
			continue
		}
		n := ld.LogRecordCount()
		if cur.records > 0 && cur.records+n > c.cfg.Batch.MaxRecords {
			out = append(out, cur)
			cur = group{}
		}
		if cur.records == 0 {
			cur.logs = plog.NewLogs()
		}
		ld.ResourceLogs().MoveAndAppendTo(cur.logs.ResourceLogs())
		cur.payloads = append(cur.payloads, p)
		cur.records += n
	}
	if cur.records > 0 {
		out = append(out, cur)
	}
	return out
}

// group is one batch for a pipeline: decoded, and the entries it came from,
// decoded again for a retry (the pipeline's processors may have changed
// the records of a failed attempt).
type group struct {
	logs     plog.Logs
	payloads [][]byte
	records  int
}

func decode(p []byte) (plog.Logs, error) {
	return (&plog.ProtoUnmarshaler{}).UnmarshalLogs(p)
}

func (g group) fresh() plog.Logs {
	ld := plog.NewLogs()
	for _, p := range g.payloads {
		if d, err := decode(p); err == nil {
			d.ResourceLogs().MoveAndAppendTo(ld.ResourceLogs())
		}
	}
	return ld
}

// deliverBatch gives a batch to the pipeline until it is taken or refused
// for good; false when ctx ended first.
func (c *journalConnector) deliverBatch(ctx context.Context, out output, g group, attrs metric.MeasurementOption) bool {
	n := int64(g.records)
	wait := c.cfg.Retry.InitialInterval
	attempt := g.logs
	for {
		err := out.next.ConsumeLogs(ctx, attempt)
		switch {
		case err == nil:
			c.telemetry.ConnectorJournalDeliveredRecords.Add(ctx, n, attrs)
			return true
		case consumererror.IsPermanent(err):
			c.logger.Error("A pipeline refused records for good; they are not retried", zap.String("pipeline", out.name), zap.Int64("records", n), zap.Error(err))
			c.telemetry.ConnectorJournalDroppedRecords.Add(ctx, n, attrs)
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		c.logger.Warn("A pipeline failed to take records; retrying", zap.String("pipeline", out.name), zap.Int64("records", n), zap.Duration("wait", wait), zap.Error(err))
		if !sleep(ctx, wait) {
			return false
		}
		wait = min(2*wait, c.cfg.Retry.MaxInterval)
		attempt = g.fresh()
	}
}

// saved records a pipeline's new cursor, on disk and for the release of
// segments every pipeline is past.
func (c *journalConnector) saved(name, path string, p position) {
	if err := saveCursor(path, p); err != nil {
		// The pipeline goes on; after a restart it starts from the last
		// cursor saved, and records are delivered again.
		c.logger.Warn("Saving a journal cursor failed", zap.String("pipeline", name), zap.Error(err))
		return
	}
	c.cursorsMu.Lock()
	c.cursors[name] = p
	low := p
	for _, q := range c.cursors {
		if q.before(low) {
			low = q
		}
	}
	c.cursorsMu.Unlock()
	if err := c.j.release(low); err != nil {
		c.logger.Warn("Removing journal segments failed", zap.Error(err))
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// Shutdown stops the delivery loops (a batch in flight is abandoned and
// delivered again after the next start) and closes the journal.
func (c *journalConnector) Shutdown(ctx context.Context) error {
	c.shutdownOnce.Do(func() {
		if c.cancel == nil {
			return
		}
		c.cancel()
		stopped := make(chan struct{})
		go func() { c.done.Wait(); close(stopped) }()
		select {
		case <-stopped:
		case <-ctx.Done():
			c.shutdownErr = ctx.Err()
		}
		c.shutdownErr = errors.Join(c.shutdownErr, c.j.close())
		c.telemetry.Shutdown()
	})
	return c.shutdownErr
}
