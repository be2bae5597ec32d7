// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package auditstoreextension

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/extension"
	"go.uber.org/zap"

	"github.com/policyaudit/policyaudit/extension/auditstoreextension/internal/metadata"
	"github.com/policyaudit/policyaudit/internal/auditapi"
	"github.com/policyaudit/policyaudit/internal/auditconsole"
	store "github.com/policyaudit/policyaudit/internal/auditstore"
	"github.com/policyaudit/policyaudit/internal/signing"
)

// auditStore is the extension: the store, its query server and its
// background work (retention, periodic signing).
type auditStore struct {
	cfg       *Config
	set       extension.Settings
	telemetry *metadata.TelemetryBuilder
	now       func() time.Time

	mu     sync.RWMutex // guards store against Append after shutdown
	store  *store.Store
	server *http.Server
	addr   string // bound query address, for tests on port 0

	cancel       context.CancelFunc // stops background work
	background   sync.WaitGroup
	shutdownOnce sync.Once
}

var _ extension.Extension = (*auditStore)(nil)

func newAuditStore(set extension.Settings, cfg *Config) (*auditStore, error) {
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	return &auditStore{cfg: cfg, set: set, telemetry: tb, now: time.Now}, nil
}

// Append stores canonical records: what the auditstore exporter calls. Each
// is committed before it returns; a record whose event_id is stored already
// is counted as a duplicate, not stored again.
func (e *auditStore) Append(ctx context.Context, entries []store.Entry) (stored, duplicates int, err error) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.store == nil {
		return 0, 0, errors.New("the audit store is not open (not started, or shut down)")
	}
	return e.store.Append(ctx, entries)
}

// Start opens the store and the query API; retention and signing run in the
// background on a context of their own.
func (e *auditStore) Start(ctx context.Context, host component.Host) error {
	signer, err := e.cfg.Signing.Signer()
	if err != nil {
		return fmt.Errorf("auditstore: signing.%w", err)
	}
	st, err := e.open(ctx, signer)
	if err != nil {
		return fmt.Errorf("auditstore: %w", err)
	}
	if signer != nil {
		e.set.Logger.Info("Audit store signs its chain head", zap.String("key_id", signer.KeyID()),
			zap.String("public_key", string(signing.PublicKeyPEM(signer.PublicKey()))))
		e.logStartCheck(st.StartCheck())
	} else {
		e.set.Logger.Warn("Audit store has no signing key (signing.key_file): its chain is hashed but not anchored, so a cut prefix, a rewritten chain or a rolled-back file cannot be detected")
	}
	if err := e.serve(ctx, host, st); err != nil {
		_ = st.Close()
		return err
	}
	e.mu.Lock()
	e.store = st
	e.mu.Unlock()
	head := st.Head()
	e.set.Logger.Info("Audit store open", zap.String("backend", e.cfg.Backend), zap.String("chain", st.Chain()),
		zap.String("query_endpoint", e.addr), zap.Int64("head_seq", head.Seq), zap.String("head_hash", head.Hash))

	bg, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	e.background.Add(3)
	go func() {
		defer e.background.Done()
		e.retain(bg, st)
	}()
	go func() {
		defer e.background.Done()
		e.writeEvidence(bg, st)
	}()
	go func() {
		defer e.background.Done()
		e.signPeriodically(bg, st)
	}()
	return nil
}

// open opens the configured backend.
func (e *auditStore) open(ctx context.Context, signer *signing.Signer) (*store.Store, error) {
	opts := []store.Option{store.WithClock(e.now), store.WithSigner(signer, e.cfg.Signing.EveryRecords)}
	if e.cfg.Backend == BackendPostgres {
		return e.openPostgres(ctx, opts)
	}
	if dir := filepath.Dir(e.cfg.Path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("creating %s: %w", dir, err)
		}
	}
	return store.Open(ctx, e.cfg.Path, append(opts, store.WithSynchronous(e.cfg.Synchronous))...)
}

func (e *auditStore) openPostgres(ctx context.Context, opts []store.Option) (*store.Store, error) {
	pc := store.PostgresConfig{DSN: string(e.cfg.Postgres.DSN), Chain: e.cfg.Postgres.Chain, MaxConns: e.cfg.Postgres.MaxConns}
	if pc.Chain == "" {
		host, err := os.Hostname()
		if err != nil || host == "" {
			return nil, fmt.Errorf("postgres.chain is not set and the host name is unknown: %v", err)
		}
		pc.Chain = host
	}
	if tlsCfg := e.cfg.Postgres.TLS.Get(); tlsCfg != nil {
		c, err := tlsCfg.LoadTLSConfig(ctx)
		if err != nil {
			return nil, fmt.Errorf("postgres.tls: %w", err)
		}
		pc.TLS = c
	}
	return store.OpenPostgres(ctx, pc, opts...)
}

// serve starts the query API (and the console) on its endpoint. A request
// with the admin token is served by the admin API (the subject endpoints,
// searches by a person's value) before the endpoint's authenticator, which
// would not know that token; every other request goes through the
// authenticator to the API, where the subject endpoints refuse it.
func (e *auditStore) serve(ctx context.Context, host component.Host, st *store.Store) error {
	api := auditapi.New(st, e.cfg.MaxQueryLimit, e.now)
	if e.KeepsVault() {
		api.WithVault(e.lookup)
	}
	server, err := e.cfg.Query.ToServer(ctx, host.GetExtensions(), e.set.TelemetrySettings, e.mux(api))
	if err != nil {
		return fmt.Errorf("auditstore: creating the query server: %w", err)
	}
	if e.cfg.Admin.Token != "" {
		server.Handler = withAdmin(string(e.cfg.Admin.Token), e.mux(api.Admin()), server.Handler)
	}
	// The console's shell and static files hold no record: served before the
	// authenticator, so a browser can load the page that asks for the token.
	if e.cfg.Console.Enabled {
		server.Handler = auditconsole.WithShell(server.Handler)
	}
	ln, err := e.cfg.Query.ToListener(ctx)
	if err != nil {
		return fmt.Errorf("auditstore: listening on %s: %w", e.cfg.Query.Endpoint, err)
	}
	e.server, e.addr = server, ln.Addr().String()
	e.background.Add(1)
	go func() {
		defer e.background.Done()
		if serr := server.Serve(ln); serr != nil && !errors.Is(serr, http.ErrServerClosed) {
			componentstatus.ReportStatus(host, componentstatus.NewFatalErrorEvent(serr))
		}
	}()
	return nil
}

// mux routes the API (and the console) of api.
func (e *auditStore) mux(api *auditapi.API) *http.ServeMux {
	mux := http.NewServeMux()
	api.Register(mux)
	if e.cfg.Console.Enabled {
		auditconsole.New(api).Register(mux)
	}
	mux.HandleFunc("/", auditapi.NotFound)
	return mux
}

// withAdmin serves a request bearing the admin token with admin, and
// every other with other. Digests are compared, in constant time, so the
// comparison takes the same time whatever the header holds, its length
// included. The admin handler is not behind query's middleware (CORS,
// compression, limits): the admin endpoints read small JSON bodies only.
func withAdmin(token string, admin, other http.Handler) http.Handler {
	want := sha256.Sum256([]byte("Bearer " + token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := sha256.Sum256([]byte(r.Header.Get("Authorization")))
		if subtle.ConstantTimeCompare(got[:], want[:]) == 1 {
			admin.ServeHTTP(w, r)
			return
		}
		other.ServeHTTP(w, r)
	})
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

// Shutdown stops the query API and the background work, signs the head
// (the exporters, shut down before extensions, have appended their last)
// and closes the database. It is safe without Start and more than once.
func (e *auditStore) Shutdown(ctx context.Context) error {
	var err error
	e.shutdownOnce.Do(func() {
		if e.cancel != nil {
			e.cancel()
		}
		if e.server != nil {
			err = e.server.Shutdown(ctx)
		}
		e.background.Wait()
		e.mu.Lock()
		st := e.store
		e.store = nil
		e.mu.Unlock()
		if st != nil {
			e.signHead(ctx, st, store.SignedForShutdown)
			head := st.Head()
			err = errors.Join(err, st.Close())
			e.set.Logger.Info("Audit store closed", zap.Int64("head_seq", head.Seq), zap.String("head_hash", head.Hash))
		}
		e.telemetry.Shutdown()
	})
	return err
}
