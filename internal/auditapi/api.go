// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

// Package auditapi is the audit store's JSON API: decisions and admin
// events by the questions security teams ask, one record, the chain's
// verification and its newest signed head, and decision counts, all
// read-only; and, for a caller with the admin token, a person's export and
// erasure (subjects.go). It serves whatever store it is given; the
// auditstore extension mounts it on its query endpoint, behind that
// endpoint's authenticator (the admin token is checked before it).
package auditapi // import "github.com/policyaudit/policyaudit/internal/auditapi"

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	store "github.com/policyaudit/policyaudit/internal/auditstore"
	"github.com/policyaudit/policyaudit/internal/signing"

	"github.com/policyaudit/policyaudit/internal/record"
)

// API is the JSON API over a store.
type API struct {
	store    *store.Store
	maxLimit int
	now      func() time.Time
	checks   *Verifications
	// lookup is the vault's keyed hash of a person's value (nil without a
	// vault); admin says the caller holds the admin token.
	lookup func(value string) string
	admin  bool
}

// New is the API over st: limit parameters are capped at maxLimit.
func New(st *store.Store, maxLimit int, now func() time.Time) *API {
	return &API{store: st, maxLimit: maxLimit, now: now, checks: new(Verifications)}
}

// WithVault lets admin callers search and erase by a person's value:
// lookup is the vault's keyed hash of a value.
func (a *API) WithVault(lookup func(value string) string) *API {
	a.lookup = lookup
	return a
}

// Admin is the API for callers holding the admin token: the subject
// endpoints answer, and a person's value in a user filter finds their
// token's records. It shares a's verifications.
func (a *API) Admin() *API {
	admin := *a
	admin.admin = true
	return &admin
}

// Store is the store the API serves.
func (a *API) Store() *store.Store { return a.store }

// Now is the API's clock.
func (a *API) Now() time.Time { return a.now() }

// DefaultLimit is the page size when none is asked for.
const DefaultLimit = 50

// route is one endpoint of the API (all GET); the 405 a write to one of
// them gets comes from the same table.
type route struct {
	path   string // a ServeMux pattern
	handle func(*API, http.ResponseWriter, *http.Request)
}

var routes = []route{
	{"/admin/api/v1/audit", (*API).adminAudit},
	{"/api/v1/decisions", (*API).decisions},
	{"/api/v1/records/{event_id}", (*API).record},
	{"/api/v1/verify", (*API).verify},
	{"/api/v1/head", (*API).head},
	{"/api/v1/stats", (*API).stats},
}

// Register adds the API's routes to mux; the admin endpoints refuse a
// caller without the admin token.
func (a *API) Register(mux *http.ServeMux) {
	for _, rt := range routes {
		handle := rt.handle
		mux.HandleFunc("GET "+rt.path, func(w http.ResponseWriter, r *http.Request) { handle(a, w, r) })
	}
	for _, rt := range adminRoutes {
		handle := rt.handle
		if !a.admin {
			mux.HandleFunc("POST "+rt.path, adminOnly)
			continue
		}
		mux.HandleFunc("POST "+rt.path, func(w http.ResponseWriter, r *http.Request) { handle(a, w, r) })
	}
}

// NotFound answers what no route takes: 405 for another method on an API
// path (the records are read-only; the subject endpoints take POST), else
// 404.
func NotFound(w http.ResponseWriter, r *http.Request) {
	for _, rt := range adminRoutes {
		if r.URL.Path == rt.path {
			w.Header().Set("Allow", http.MethodPost)
			WriteJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": r.Method + " is not allowed: POST a JSON body with the subject"})
			return
		}
	}
	for _, rt := range routes {
		prefix, _, wildcard := strings.Cut(rt.path, "{")
		if r.URL.Path == rt.path || wildcard && strings.HasPrefix(r.URL.Path, prefix) {
			w.Header().Set("Allow", http.MethodGet)
			WriteJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": r.Method + " is not allowed: the audit store is read-only"})
			return
		}
	}
	WriteJSON(w, http.StatusNotFound, map[string]string{"error": "no such endpoint: " + r.URL.Path})
}

// Limit is the page size asked for, capped at the API's maximum.
func (a *API) Limit(p *Params) int {
	return min(p.PositiveInt("limit", DefaultLimit), a.maxLimit)
}

type page struct {
	Records    []store.Row `json:"records"`
	Limit      int         `json:"limit"`
	NextCursor string      `json:"next_cursor,omitempty"`
}

func (a *API) query(w http.ResponseWriter, r *http.Request, f store.Filter) {
	user, err := a.ResolveUser(r.Context(), f.User)
	if err != nil {
		WriteJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	f.User = user
	rows, next, err := a.store.Query(r.Context(), f)
	if errors.Is(err, store.ErrBadCursor) {
		WriteJSON(w, http.StatusBadRequest, map[string]string{"error": "cursor: " + err.Error()})
		return
	}
	if err != nil {
		WriteJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	WriteJSON(w, http.StatusOK, page{Records: rows, Limit: f.Limit, NextCursor: next})
}

// adminAudit: GET /admin/api/v1/audit?days=7&limit=50 — admin audit events
// of the last days, newest first. With correlation_id (or user, the
// actor), the events of that correlation ID whatever their age, unless days
// is given too.
func (a *API) adminAudit(w http.ResponseWriter, r *http.Request) {
	p := NewParams(r, "days", record.FieldCorrelationID, "user", record.FieldPolicyUser, "limit", "cursor")
	f := store.Filter{EventKind: record.EventKindAdmin, CorrelationID: p.Str(record.FieldCorrelationID), User: p.userParam(), Limit: a.Limit(p), Cursor: p.Str("cursor")}
	if f.CorrelationID == "" && f.User == "" || r.URL.Query().Has("days") {
		f.Since = a.now().Add(-time.Duration(p.PositiveInt("days", 7)) * 24 * time.Hour)
	}
	if p.Failed(w) {
		return
	}
	a.query(w, r, f)
}

// decisions: GET /api/v1/decisions with filters, newest first.
func (a *API) decisions(w http.ResponseWriter, r *http.Request) {
	p := NewParams(r, record.FieldCorrelationID, "user", record.FieldPolicyUser, record.FieldDecision, record.FieldEffectiveDecision, record.FieldPolicyID, record.FieldPolicyVersion,
		record.FieldRolloutMode, record.FieldModel, record.FieldProjectID, "since", "until", "limit", "cursor")
	f := store.Filter{
		EventKind:         record.EventKindDecision,
		CorrelationID:     p.Str(record.FieldCorrelationID),
		User:              p.userParam(),
		Decision:          p.Str(record.FieldDecision),
		EffectiveDecision: p.Str(record.FieldEffectiveDecision),
		PolicyID:          p.Str(record.FieldPolicyID),
		PolicyVersion:     p.Str(record.FieldPolicyVersion),
		RolloutMode:       p.Str(record.FieldRolloutMode),
		Model:             p.Str(record.FieldModel),
		ProjectID:         p.Str(record.FieldProjectID),
		Since:             p.Time("since"),
		Until:             p.Time("until"),
		Limit:             a.Limit(p),
		Cursor:            p.Str("cursor"),
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Until.After(f.Since) {
		p.errs = append(p.errs, "until: must be after since")
	}
	if p.Failed(w) {
		return
	}
	a.query(w, r, f)
}

// record: GET /api/v1/records/{event_id}.
func (a *API) record(w http.ResponseWriter, r *http.Request) {
	if NewParams(r).Failed(w) {
		return
	}
	id := r.PathValue("event_id")
	row, ok, err := a.store.Get(r.Context(), id)
	switch {
	case err != nil:
		WriteJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
	case !ok:
		WriteJSON(w, http.StatusNotFound, map[string]string{"error": "no record with event_id " + strconv.Quote(id)})
	default:
		WriteJSON(w, http.StatusOK, row)
	}
}

// verify: GET /api/v1/verify — the chain's status and its first broken seq.
func (a *API) verify(w http.ResponseWriter, r *http.Request) {
	if NewParams(r).Failed(w) {
		return
	}
	rep, err := a.VerifyChain(r.Context())
	if err != nil {
		WriteJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	WriteJSON(w, http.StatusOK, rep)
}

// head: GET /api/v1/head — the newest signed head (statement and
// signature, the input of policyaudit verify --signed-head), the key that
// signed it, and the current head; 404 when nothing was signed yet.
func (a *API) head(w http.ResponseWriter, r *http.Request) {
	if NewParams(r).Failed(w) {
		return
	}
	signer, sh := a.store.Signer(), a.store.LastSignedHead()
	if signer == nil || sh == nil {
		WriteJSON(w, http.StatusNotFound, map[string]any{"error": "no signed head: the store has no signing key (signing.key_file) or has not signed yet", "head": a.store.Head()})
		return
	}
	WriteJSON(w, http.StatusOK, struct {
		store.SignedHead
		KeyID     string     `json:"key_id"`
		PublicKey string     `json:"public_key"`
		Head      store.Link `json:"head"`
	}{*sh, signer.KeyID(), string(signing.PublicKeyPEM(signer.PublicKey())), a.store.Head()})
}

// stats: GET /api/v1/stats?since= — decision counts for a dashboard.
func (a *API) stats(w http.ResponseWriter, r *http.Request) {
	p := NewParams(r, "since")
	since := p.Time("since")
	if p.Failed(w) {
		return
	}
	st, err := a.store.Stats(r.Context(), since)
	if err != nil {
		WriteJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	WriteJSON(w, http.StatusOK, st)
}
