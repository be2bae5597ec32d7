// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package auditapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	store "github.com/policyaudit/policyaudit/internal/auditstore"
	"github.com/policyaudit/policyaudit/internal/record"
	"github.com/policyaudit/policyaudit/internal/signing"
)

// The admin endpoints answer a person's rights over what the store holds
// about them (docs/privacy.md): export (GDPR art. 15) and erase (art. 17).
// They take the person's value in a POST body, never in a URL a proxy or an
// access log would keep, and only from a caller with the admin token.
var adminRoutes = []route{
	{"/admin/api/v1/subjects/export", (*API).subjectExport},
	{"/admin/api/v1/subjects/erase", (*API).subjectErase},
}

// subjectRequest is the body of the subject endpoints.
type subjectRequest struct {
	Subject string `json:"subject"`
	Reason  string `json:"reason,omitempty"` // erase: why, recorded in the chain
	Actor   string `json:"actor,omitempty"`  // erase: who asked, recorded in the chain
}

// maxSubjectBody bounds a subject request's body.
const maxSubjectBody = 64 << 10

func (a *API) readSubject(w http.ResponseWriter, r *http.Request) (subjectRequest, bool) {
	var req subjectRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxSubjectBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		WriteJSON(w, http.StatusBadRequest, map[string]string{"error": "the body must be a JSON object with subject (and, to erase, reason and actor): " + err.Error()})
		return req, false
	}
	if strings.TrimSpace(req.Subject) == "" {
		WriteJSON(w, http.StatusBadRequest, map[string]string{"error": "subject: must not be empty"})
		return req, false
	}
	return req, true
}

// Searches are the values a person's records may carry in the user
// column (policy_user, an admin event's actor.id): their token, when the
// vault has one, and the value itself, for records stored before the value
// was tokenised. A caller without the admin token searches by the value
// as given; so does anyone for a value that is already a token.
func (a *API) searches(ctx context.Context, value string) ([]string, error) {
	if !a.admin || a.lookup == nil || value == "" || record.IsToken(value) {
		return []string{value}, nil
	}
	token, ok, err := a.store.Token(ctx, a.lookup(value))
	if err != nil {
		return nil, err
	}
	if ok {
		return []string{token, value}, nil
	}
	return []string{value}, nil
}

// ResolveUser is the value the user filter searches by: for an admin
// caller, a person's token when the vault has one; else as given.
func (a *API) ResolveUser(ctx context.Context, value string) (string, error) {
	s, err := a.searches(ctx, value)
	if err != nil {
		return "", err
	}
	return s[0], nil
}

// exportSummary ends an export: what ties its records to the signed chain.
type exportSummary struct {
	Summary struct {
		Records int `json:"records"`
		// Token is the person's token ("" when the vault has none).
		Token string `json:"token,omitempty"`
		// Verification is the whole chain's, at the export: every link
		// between a record and the signed head is checked there.
		Verification store.Report `json:"verification"`
		// SignedHead is the newest signed head with its key: a record's
		// link (seq, stored_ms, prev_hash, hash) recomputes from its line.
		SignedHead *store.SignedHead `json:"signed_head,omitempty"`
		KeyID      string            `json:"key_id,omitempty"`
		PublicKey  string            `json:"public_key,omitempty"`
	} `json:"summary"`
}

// subjectExport: POST /admin/api/v1/subjects/export {"subject": "..."} —
// every decision and admin event about the person (as user, as actor),
// each with its link, as JSON lines, and a last line with the chain's
// verification and its newest signed head.
func (a *API) subjectExport(w http.ResponseWriter, r *http.Request) {
	req, ok := a.readSubject(w, r)
	if !ok {
		return
	}
	values, err := a.searches(r.Context(), req.Subject)
	if err != nil {
		WriteJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	// Recorded, then signed: the head covers the export's own event and
	// every record of this collector's chain the export gives.
	actor, err := a.actorOf(r.Context(), orDefault(req.Actor, "admin"))
	if err == nil {
		_, err = a.store.AppendSubjectEvent(r.Context(), store.ActionSubjectExport, tokenIfAny(values, req.Subject), actor, req.Reason)
	}
	if err != nil {
		WriteJSON(w, http.StatusInternalServerError, map[string]string{"error": "recording the export: " + err.Error()})
		return
	}
	if a.store.Signer() != nil {
		if err := a.store.SignHead(r.Context(), store.SignedForExport); err != nil {
			WriteJSON(w, http.StatusInternalServerError, map[string]string{"error": "signing the head: " + err.Error()})
			return
		}
	}
	rep, err := a.VerifyChain(r.Context())
	if err != nil {
		WriteJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	var sum exportSummary
	sum.Summary.Verification = rep
	sum.Summary.Token = tokenIfAny(values, req.Subject)
	for _, v := range values {
		f := store.Filter{User: v, Limit: a.maxLimit}
		for {
			rows, next, err := a.store.Query(r.Context(), f)
			if err != nil {
				// The status is sent: the missing summary line says the
				// export is incomplete.
				_ = enc.Encode(map[string]string{"error": err.Error()})
				return
			}
			for _, row := range rows {
				_ = enc.Encode(row)
			}
			sum.Summary.Records += len(rows)
			if next == "" {
				break
			}
			f.Cursor = next
		}
	}
	if signer, sh := a.store.Signer(), a.store.LastSignedHead(); signer != nil && sh != nil {
		sum.Summary.SignedHead, sum.Summary.KeyID = sh, signer.KeyID()
		sum.Summary.PublicKey = string(signing.PublicKeyPEM(signer.PublicKey()))
	}
	_ = enc.Encode(sum)
}

// subjectErase: POST /admin/api/v1/subjects/erase {"subject", "reason",
// "actor"} — deletes the person's vault entry (their records keep a token
// about nobody) and records a subject.erase admin event; 404 when the
// vault has no token for them.
func (a *API) subjectErase(w http.ResponseWriter, r *http.Request) {
	req, ok := a.readSubject(w, r)
	if !ok {
		return
	}
	var problems []string
	if strings.TrimSpace(req.Reason) == "" {
		problems = append(problems, "reason: must not be empty (it is recorded in the chain)")
	}
	if strings.TrimSpace(req.Actor) == "" {
		problems = append(problems, "actor: must not be empty (who asked for the erasure is recorded in the chain)")
	}
	if a.lookup == nil {
		problems = append(problems, "the audit store keeps no vault (vault.key is not set): there is no token to erase")
	}
	if len(problems) > 0 {
		WriteJSON(w, http.StatusBadRequest, map[string]string{"error": strings.Join(problems, "; ")})
		return
	}
	if strings.Contains(req.Reason, req.Subject) {
		WriteJSON(w, http.StatusBadRequest, map[string]string{"error": "reason: must not name the subject (it is recorded in the chain, which cannot forget it)"})
		return
	}
	actor, err := a.actorOf(r.Context(), req.Actor)
	if err != nil {
		WriteJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		return
	}
	er, found, err := a.store.EraseSubject(r.Context(), a.lookup(req.Subject), actor, req.Reason)
	switch {
	case err != nil && found:
		WriteJSON(w, http.StatusInternalServerError, map[string]any{"error": "the erasure is recorded but did not finish (retry it): " + err.Error(), "erasure": er})
	case err != nil:
		WriteJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
	case !found:
		WriteJSON(w, http.StatusNotFound, map[string]string{"error": "the vault holds no token for this subject (never tokenised, or erased already)"})
	default:
		WriteJSON(w, http.StatusOK, er)
	}
}

// actorOf is who the chain records as having asked: their token when the
// store keeps a vault (as tokenize writes the gateways' actors), else as given.
func (a *API) actorOf(ctx context.Context, actor string) (string, error) {
	if a.lookup == nil {
		return actor, nil
	}
	toks, err := a.store.Tokens(ctx, []string{a.lookup(actor)})
	if err != nil {
		return "", err
	}
	return toks[0], nil
}

// tokenIfAny is the person's token among the searched values, "" without one.
func tokenIfAny(values []string, subject string) string {
	if values[0] != subject {
		return values[0]
	}
	return ""
}

func orDefault(v, def string) string {
	if strings.TrimSpace(v) == "" {
		return def
	}
	return v
}

// adminOnly answers an admin endpoint called without the admin token.
func adminOnly(w http.ResponseWriter, _ *http.Request) {
	WriteJSON(w, http.StatusForbidden, map[string]string{"error": "this endpoint needs the admin token (the audit store's admin.token, as Authorization: Bearer)"})
}
