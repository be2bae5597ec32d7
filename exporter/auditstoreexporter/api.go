package auditstoreexporter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	store "github.com/policyaudit/policyaudit/internal/auditstore"
	"github.com/policyaudit/policyaudit/internal/signing"

	"github.com/policyaudit/policyaudit/internal/record"
)

// queryAPI is the read-only HTTP API over the store.
type queryAPI struct {
	store    *store.Store
	maxLimit int
	now      func() time.Time
	console  bool // serve the console's fragments
	verified lastVerification
}

// lastVerification is the newest whole-chain verification (the API's or
// the console's), which the integrity page shows with its time: walking a
// chain of millions of records takes seconds (make bench-auditstore).
type lastVerification struct {
	mu     sync.Mutex
	report store.Report
	at     time.Time
	took   time.Duration
}

// verifyChain verifies the whole chain now and keeps the outcome.
func (a *queryAPI) verifyChain(ctx context.Context) (store.Report, error) {
	start := time.Now()
	rep, err := a.store.Verify(ctx)
	if err != nil {
		return rep, err
	}
	a.verified.mu.Lock()
	a.verified.report, a.verified.at, a.verified.took = rep, a.now(), time.Since(start)
	a.verified.mu.Unlock()
	return rep, nil
}

// lastVerified is the newest verification, false before the first.
func (a *queryAPI) lastVerified() (store.Report, time.Time, time.Duration, bool) {
	a.verified.mu.Lock()
	defer a.verified.mu.Unlock()
	return a.verified.report, a.verified.at, a.verified.took, !a.verified.at.IsZero()
}

const defaultLimit = 50

var knownPaths = []string{"/admin/api/v1/audit", "/api/v1/decisions", "/api/v1/records/", "/api/v1/verify", "/api/v1/head", "/api/v1/stats"}

func (a *queryAPI) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /admin/api/v1/audit", a.adminAudit)
	mux.HandleFunc("GET /api/v1/decisions", a.decisions)
	mux.HandleFunc("GET /api/v1/records/{event_id}", a.record)
	mux.HandleFunc("GET /api/v1/verify", a.verify)
	mux.HandleFunc("GET /api/v1/head", a.head)
	mux.HandleFunc("GET /api/v1/stats", a.stats)
	if a.console {
		a.consoleRoutes(mux)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		for _, p := range knownPaths {
			if r.URL.Path == p || (strings.HasSuffix(p, "/") && strings.HasPrefix(r.URL.Path, p)) {
				w.Header().Set("Allow", http.MethodGet)
				writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": r.Method + " is not allowed: the audit store is read-only"})
				return
			}
		}
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such endpoint: " + r.URL.Path})
	})
	return mux
}

// params reads query parameters, refusing unknown ones (a typo in a filter
// must not silently widen the answer).
type params struct {
	q    url.Values
	errs []string
}

func newParams(r *http.Request, allowed ...string) *params {
	p := &params{q: r.URL.Query()}
	for name := range p.q {
		known := false
		for _, a := range allowed {
			known = known || a == name
		}
		if !known {
			p.errs = append(p.errs, fmt.Sprintf("%s: unknown parameter (accepted: %s)", name, strings.Join(allowed, ", ")))
		}
	}
	return p
}

func (p *params) str(name string) string { return p.q.Get(name) }

func (p *params) positiveInt(name string, def int) int {
	v := p.q.Get(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		p.errs = append(p.errs, fmt.Sprintf("%s: %q is not a positive integer", name, v))
		return def
	}
	return n
}

// time accepts RFC 3339 or a date (YYYY-MM-DD, midnight UTC).
func (p *params) time(name string) time.Time {
	v := p.q.Get(name)
	if v == "" {
		return time.Time{}
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t
	}
	if t, err := time.Parse("2006-01-02", v); err == nil {
		return t
	}
	p.errs = append(p.errs, fmt.Sprintf("%s: %q is not an RFC 3339 time or a YYYY-MM-DD date", name, v))
	return time.Time{}
}

func (p *params) failed(w http.ResponseWriter) bool {
	if len(p.errs) == 0 {
		return false
	}
	writeJSON(w, http.StatusBadRequest, map[string]any{"error": strings.Join(p.errs, "; ")})
	return true
}

// limit caps the requested page size at max_query_limit.
func (a *queryAPI) limit(p *params) int {
	return min(p.positiveInt("limit", defaultLimit), a.maxLimit)
}

type page struct {
	Records    []store.Row `json:"records"`
	Limit      int         `json:"limit"`
	NextCursor string      `json:"next_cursor,omitempty"`
}

func (a *queryAPI) query(w http.ResponseWriter, r *http.Request, f store.Filter) {
	rows, next, err := a.store.Query(r.Context(), f)
	if errors.Is(err, store.ErrBadCursor) {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "cursor: " + err.Error()})
		return
	}
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, page{Records: rows, Limit: f.Limit, NextCursor: next})
}

// adminAudit: GET /admin/api/v1/audit?days=7&limit=50 — admin audit events
// of the last days, newest first. With correlation_id, the events of that
// correlation ID whatever their age, unless days is given too.
func (a *queryAPI) adminAudit(w http.ResponseWriter, r *http.Request) {
	p := newParams(r, "days", record.FieldCorrelationID, "limit", "cursor")
	f := store.Filter{EventKind: record.EventKindAdmin, CorrelationID: p.str(record.FieldCorrelationID), Limit: a.limit(p), Cursor: p.str("cursor")}
	if f.CorrelationID == "" || r.URL.Query().Has("days") {
		f.Since = a.now().Add(-time.Duration(p.positiveInt("days", 7)) * 24 * time.Hour)
	}
	if p.failed(w) {
		return
	}
	a.query(w, r, f)
}

// decisions: GET /api/v1/decisions with filters, newest first.
func (a *queryAPI) decisions(w http.ResponseWriter, r *http.Request) {
	p := newParams(r, record.FieldCorrelationID, "user", record.FieldDecision, record.FieldEffectiveDecision, record.FieldPolicyID, record.FieldPolicyVersion,
		record.FieldRolloutMode, record.FieldModel, record.FieldProjectID, "since", "until", "limit", "cursor")
	f := store.Filter{
		EventKind:         record.EventKindDecision,
		CorrelationID:     p.str(record.FieldCorrelationID),
		User:              p.str("user"),
		Decision:          p.str(record.FieldDecision),
		EffectiveDecision: p.str(record.FieldEffectiveDecision),
		PolicyID:          p.str(record.FieldPolicyID),
		PolicyVersion:     p.str(record.FieldPolicyVersion),
		RolloutMode:       p.str(record.FieldRolloutMode),
		Model:             p.str(record.FieldModel),
		ProjectID:         p.str(record.FieldProjectID),
		Since:             p.time("since"),
		Until:             p.time("until"),
		Limit:             a.limit(p),
		Cursor:            p.str("cursor"),
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Until.After(f.Since) {
		p.errs = append(p.errs, "until: must be after since")
	}
	if p.failed(w) {
		return
	}
	a.query(w, r, f)
}

// record: GET /api/v1/records/{event_id}.
func (a *queryAPI) record(w http.ResponseWriter, r *http.Request) {
	if newParams(r).failed(w) {
		return
	}
	id := r.PathValue("event_id")
	row, ok, err := a.store.Get(r.Context(), id)
	switch {
	case err != nil:
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
	case !ok:
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no record with event_id " + strconv.Quote(id)})
	default:
		writeJSON(w, http.StatusOK, row)
	}
}

// verify: GET /api/v1/verify — the chain's status and its first broken seq.
func (a *queryAPI) verify(w http.ResponseWriter, r *http.Request) {
	if newParams(r).failed(w) {
		return
	}
	rep, err := a.verifyChain(r.Context())
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

// head: GET /api/v1/head — the newest signed head (statement and
// signature, the input of policyaudit verify --signed-head), the key that
// signed it, and the current head; 404 when nothing was signed yet.
func (a *queryAPI) head(w http.ResponseWriter, r *http.Request) {
	if newParams(r).failed(w) {
		return
	}
	signer, sh := a.store.Signer(), a.store.LastSignedHead()
	if signer == nil || sh == nil {
		writeJSON(w, http.StatusNotFound, map[string]any{"error": "no signed head: the store has no signing key (signing.key_file) or has not signed yet", "head": a.store.Head()})
		return
	}
	writeJSON(w, http.StatusOK, struct {
		store.SignedHead
		KeyID     string     `json:"key_id"`
		PublicKey string     `json:"public_key"`
		Head      store.Link `json:"head"`
	}{*sh, signer.KeyID(), string(signing.PublicKeyPEM(signer.PublicKey())), a.store.Head()})
}

// stats: GET /api/v1/stats?since= — decision counts for a dashboard.
func (a *queryAPI) stats(w http.ResponseWriter, r *http.Request) {
	p := newParams(r, "since")
	since := p.time("since")
	if p.failed(w) {
		return
	}
	st, err := a.store.Stats(r.Context(), since)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // records as stored: their RFC 8785 bytes
	_ = enc.Encode(v)
}
