// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package auditstoreexporter

import (
	"context"
	"fmt"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/policyaudit/policyaudit/exporter/auditstoreexporter/internal/metadata"
	store "github.com/policyaudit/policyaudit/internal/auditstore"
	"github.com/policyaudit/policyaudit/internal/pdatajson"
	"github.com/policyaudit/policyaudit/internal/plogutil"
)

// appender is what the auditstore extension offers its exporters.
type appender interface {
	Append(ctx context.Context, entries []store.Entry) (stored, duplicates int, err error)
}

type auditStore struct {
	cfg       *Config
	telemetry *metadata.TelemetryBuilder
	store     appender
}

func newAuditStore(set exporter.Settings, cfg *Config) (*auditStore, error) {
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	return &auditStore{cfg: cfg, telemetry: tb}, nil
}

// start finds the store among the collector's extensions (started before
// the pipelines, shut down after them).
func (e *auditStore) start(_ context.Context, host component.Host) error {
	ext, ok := host.GetExtensions()[e.cfg.Store]
	if !ok {
		return fmt.Errorf("auditstore: store: the extension %s is not configured (list it under extensions and service.extensions)", e.cfg.Store)
	}
	a, ok := ext.(appender)
	if !ok {
		return fmt.Errorf("auditstore: store: the extension %s is not an audit store", e.cfg.Store)
	}
	e.store = a
	return nil
}

// shutdown is safe without start and more than once; the extension closes
// the store.
func (e *auditStore) shutdown(context.Context) error {
	e.telemetry.Shutdown()
	return nil
}

// pushLogs stores every log record holding a canonical record (the flat
// body, or the policy object of the elastic layout).
func (e *auditStore) pushLogs(ctx context.Context, ld plog.Logs) error {
	entries := make([]store.Entry, 0, ld.LogRecordCount())
	rejected := 0
	var firstErr error
	plogutil.Each(ld, func(lr plog.LogRecord) {
		entry, err := entryOf(lr.Body())
		if err != nil {
			rejected++
			if firstErr == nil {
				firstErr = err
			}
			return
		}
		entries = append(entries, entry)
	})
	if len(entries) > 0 {
		stored, dups, err := e.store.Append(ctx, entries)
		if err != nil {
			return fmt.Errorf("auditstore: %w", err) // retried by exporterhelper
		}
		e.telemetry.ExporterAuditstoreStored.Add(ctx, int64(stored))
		if dups > 0 {
			e.telemetry.ExporterAuditstoreDuplicates.Add(ctx, int64(dups))
		}
	}
	if rejected > 0 {
		e.telemetry.ExporterAuditstoreRejected.Add(ctx, int64(rejected))
		return consumererror.NewPermanent(fmt.Errorf("auditstore: %d log records hold no canonical record (put the policydecision processor before this exporter): %w", rejected, firstErr))
	}
	return nil
}

// entryOf reads the canonical record of a log body.
func entryOf(body pcommon.Value) (store.Entry, error) {
	if body.Type() != pcommon.ValueTypeMap {
		return store.Entry{}, fmt.Errorf("the body is a %s, not a map", body.Type())
	}
	m := body.Map()
	if policy, ok := m.Get("policy"); ok && policy.Type() == pcommon.ValueTypeMap {
		if _, isDoc := m.Get("@timestamp"); isDoc {
			m = policy.Map() // the elastic layout
		}
	}
	cols, err := store.ColumnsOf(func(path ...string) string { return pdatajson.StringAt(m, path...) }, func(path ...string) (float64, bool) { return pdatajson.NumberAt(m, path...) })
	if err != nil {
		return store.Entry{}, err
	}
	return store.Entry{Columns: cols, Record: pdatajson.AppendCanonicalMap(nil, m)}, nil
}
