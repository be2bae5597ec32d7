// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package auditstoreexporter

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"

	"github.com/policyaudit/policyaudit/exporter/auditstoreexporter/internal/metadata"
	"github.com/policyaudit/policyaudit/internal/auditapi"
	"github.com/policyaudit/policyaudit/internal/auditconsole"
	store "github.com/policyaudit/policyaudit/internal/auditstore"
	"github.com/policyaudit/policyaudit/internal/pdatajson"
	"github.com/policyaudit/policyaudit/internal/plogutil"
	"github.com/policyaudit/policyaudit/internal/signing"
)

type auditStore struct {
	cfg       *Config
	set       exporter.Settings
	telemetry *metadata.TelemetryBuilder
	now       func() time.Time

	store  *store.Store
	server *http.Server
	addr   string // bound query address, for tests on port 0

	cancel       context.CancelFunc // stops background work
	background   sync.WaitGroup
	shutdownOnce sync.Once
}

func newAuditStore(set exporter.Settings, cfg *Config) (*auditStore, error) {
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	return &auditStore{cfg: cfg, set: set, telemetry: tb, now: time.Now}, nil
}

// start opens the database and the query API; retention runs in the
// background on a context of its own.
func (e *auditStore) start(ctx context.Context, host component.Host) error {
	if dir := filepath.Dir(e.cfg.Path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return fmt.Errorf("auditstore: creating %s: %w", dir, err)
		}
	}
	signer, err := e.cfg.Signing.Signer()
	if err != nil {
		return fmt.Errorf("auditstore: signing.%w", err)
	}
	st, err := store.Open(ctx, e.cfg.Path, store.WithClock(e.now), store.WithSigner(signer, e.cfg.Signing.EveryRecords), store.WithSynchronous(e.cfg.Synchronous))
	if err != nil {
		return fmt.Errorf("auditstore: %w", err)
	}
	e.store = st
	if signer != nil {
		e.set.Logger.Info("Audit store signs its chain head", zap.String("key_id", signer.KeyID()),
			zap.String("public_key", string(signing.PublicKeyPEM(signer.PublicKey()))))
		e.logStartCheck(st.StartCheck())
	} else {
		e.set.Logger.Warn("Audit store has no signing key (signing.key_file): its chain is hashed but not anchored, so a cut prefix, a rewritten chain or a rolled-back file cannot be detected")
	}

	api := auditapi.New(st, e.cfg.MaxQueryLimit, e.now)
	mux := http.NewServeMux()
	api.Register(mux)
	if e.cfg.Console.Enabled {
		auditconsole.New(api).Register(mux)
	}
	mux.HandleFunc("/", auditapi.NotFound)
	e.server, err = e.cfg.Query.ToServer(ctx, host.GetExtensions(), e.set.TelemetrySettings, mux)
	if err != nil {
		return fmt.Errorf("auditstore: creating the query server: %w", err)
	}
	// The console's shell and static files hold no record: served before the
	// authenticator, so a browser can load the page that asks for the token.
	if e.cfg.Console.Enabled {
		e.server.Handler = auditconsole.WithShell(e.server.Handler)
	}
	ln, err := e.cfg.Query.ToListener(ctx)
	if err != nil {
		return fmt.Errorf("auditstore: listening on %s: %w", e.cfg.Query.Endpoint, err)
	}
	e.addr = ln.Addr().String()
	head := st.Head()
	e.set.Logger.Info("Audit store open", zap.String("path", e.cfg.Path), zap.String("query_endpoint", e.addr),
		zap.Int64("head_seq", head.Seq), zap.String("head_hash", head.Hash))

	bg, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	e.background.Add(3)
	go func() {
		defer e.background.Done()
		if serr := e.server.Serve(ln); serr != nil && !errors.Is(serr, http.ErrServerClosed) {
			componentstatus.ReportStatus(host, componentstatus.NewFatalErrorEvent(serr))
		}
	}()
	go func() {
		defer e.background.Done()
		e.retain(bg)
	}()
	go func() {
		defer e.background.Done()
		e.signPeriodically(bg)
	}()
	return nil
}

// logStartCheck says what the store found unsigned or broken at open; its
// signatures will not vouch for it, and verification names it.
func (e *auditStore) logStartCheck(check store.StartCheck) {
	if check.Problem != "" {
		e.set.Logger.Error("Audit store chain does not continue its newest signed head; verify names the range", zap.String("problem", check.Problem))
	}
	if r := check.Unvouched; r != nil {
		e.set.Logger.Warn("Audit store found records no signature covers, appended by a process that stopped before signing them (a crash) or written by someone with the disk; they stay unvouched",
			zap.Int64("from_seq", r.From), zap.Int64("to_seq", r.To))
	}
}

// signPeriodically signs the head every signing interval when records
// arrived since, so at most an interval's records are unsigned.
func (e *auditStore) signPeriodically(ctx context.Context) {
	if e.store.Signer() == nil {
		return
	}
	ticker := time.NewTicker(e.cfg.Signing.Interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			e.signHead(ctx, store.SignedForInterval)
		}
	}
}

// signHead signs the head and logs the signed head, so a copy of it leaves
// the host with the collector's log: the anchor against a rolled-back file.
func (e *auditStore) signHead(ctx context.Context, reason string) {
	before := e.store.LastSignedHead()
	if err := e.store.SignHead(ctx, reason); err != nil {
		if ctx.Err() == nil {
			e.set.Logger.Warn("Signing the audit store head failed; it will be tried again", zap.Error(err))
		}
		return
	}
	if sh := e.store.LastSignedHead(); sh != nil && sh != before {
		e.set.Logger.Info("Audit store head signed", zap.String("reason", reason),
			zap.String("statement", string(sh.Statement)), zap.String("signature", sh.Signature))
	}
}

// retain purges at start and then every retention_interval.
func (e *auditStore) retain(ctx context.Context) {
	if e.cfg.RetentionDays == 0 {
		return
	}
	ticker := time.NewTicker(e.cfg.RetentionInterval)
	defer ticker.Stop()
	for {
		cutoff := e.now().Add(-time.Duration(e.cfg.RetentionDays) * 24 * time.Hour)
		n, err := e.store.Purge(ctx, cutoff)
		if err != nil && ctx.Err() == nil {
			e.set.Logger.Warn("Retention failed; it will run again", zap.Error(err))
		}
		if n > 0 {
			e.telemetry.ExporterAuditstorePurged.Add(ctx, n)
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// shutdown stops the query API and retention and closes the database (the
// exporterhelper queue has been drained before it is called). It is safe
// without start and more than once.
func (e *auditStore) shutdown(ctx context.Context) error {
	var err error
	e.shutdownOnce.Do(func() {
		if e.cancel != nil {
			e.cancel()
		}
		if e.server != nil {
			err = e.server.Shutdown(ctx)
		}
		e.background.Wait()
		if e.store != nil {
			e.signHead(ctx, store.SignedForShutdown)
			head := e.store.Head()
			err = errors.Join(err, e.store.Close())
			e.set.Logger.Info("Audit store closed", zap.Int64("head_seq", head.Seq), zap.String("head_hash", head.Hash))
		}
		e.telemetry.Shutdown()
	})
	return err
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
	cols, err := store.ColumnsOf(func(path ...string) string { return pdatajson.StringAt(m, path...) })
	if err != nil {
		return store.Entry{}, err
	}
	return store.Entry{Columns: cols, Record: pdatajson.AppendCanonicalMap(nil, m)}, nil
}
