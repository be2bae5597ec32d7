// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package auditconsole

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/policyaudit/policyaudit/internal/auditapi"
	store "github.com/policyaudit/policyaudit/internal/auditstore"
	"github.com/policyaudit/policyaudit/internal/record"
	"github.com/policyaudit/policyaudit/internal/signing"
)

// recordRow is a record in a list.
type recordRow struct {
	EventID, Time, Kind, Decision, Effective, Rollout, Policy, User, Correlation, Summary string
	Seq                                                                                   int64
}

func recordRowOf(row store.Row) recordRow {
	get := row.Fields()
	out := recordRow{
		Seq: row.Seq, EventID: get(record.FieldEventID), Time: get(record.FieldCreatedAt), Kind: get(record.FieldEventKind),
		Decision: get(record.FieldDecision), Effective: get(record.FieldEffectiveDecision), Rollout: get(record.FieldRolloutMode),
		Policy:      strings.TrimSpace(get(record.FieldPolicyID) + " " + get(record.FieldPolicyVersion)),
		User:        get(record.FieldPolicyUser),
		Correlation: get(record.FieldCorrelationID),
	}
	if out.Kind == record.EventKindAdmin {
		m := adminRowOf(get)
		out.User, out.Summary = m.Actor, m.Action+" "+m.Resource+" ("+m.Outcome+")"
	}
	return out
}

type searchPage struct {
	Query   string
	Results []recordRow
	Capped  bool
}

const searchLimit = 50

// search: a record by event ID, or the records of a correlation ID or a
// caller (policy_user, or an admin's actor ID), newest first.
func (c *Console) search(w http.ResponseWriter, r *http.Request) {
	p := auditapi.NewParams(r, "q")
	if p.Problems() != "" {
		renderProblem(w, http.StatusBadRequest, "Search", p.Problems())
		return
	}
	page := searchPage{Query: strings.TrimSpace(p.Str("q"))}
	if page.Query == "" {
		renderFragment(w, http.StatusOK, "search", page)
		return
	}
	seen := map[int64]bool{}
	var rows []store.Row
	add := func(rs []store.Row) {
		for _, row := range rs {
			if !seen[row.Seq] {
				seen[row.Seq] = true
				rows = append(rows, row)
			}
		}
	}
	if row, ok, err := c.store.Get(r.Context(), page.Query); err != nil {
		renderProblem(w, http.StatusInternalServerError, "Search", err.Error())
		return
	} else if ok {
		add([]store.Row{row})
	}
	// An admin caller's query for a person's value finds their token's records.
	user, err := c.api.ResolveUser(r.Context(), page.Query)
	if err != nil {
		renderProblem(w, http.StatusInternalServerError, "Search", err.Error())
		return
	}
	for _, f := range []store.Filter{{CorrelationID: page.Query, Limit: searchLimit}, {User: user, Limit: searchLimit}} {
		rs, next, err := c.store.Query(r.Context(), f)
		if err != nil {
			renderProblem(w, http.StatusInternalServerError, "Search", err.Error())
			return
		}
		page.Capped = page.Capped || next != ""
		add(rs)
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].Seq > rows[j].Seq })
	for _, row := range rows {
		page.Results = append(page.Results, recordRowOf(row))
	}
	renderFragment(w, http.StatusOK, "search", page)
}

type recordPage struct {
	Row             recordRow
	Fields          []fieldRow
	Canonical       string
	Chain           string // a shared store's chain of the record
	Seq             int64
	StoredAt        string
	PrevHash        string
	Hash            string
	Link            store.LinkCheck
	Changes         []markerRow
	MoreChanges     bool
	PolicyID        string
	CorrelationHref template.URL
}

type fieldRow struct{ Name, Value string }

// record: one record, its place in the chain and that link's check, and
// the admin events that changed its policy before it.
func (c *Console) record(w http.ResponseWriter, r *http.Request) {
	if p := auditapi.NewParams(r); p.Problems() != "" {
		renderProblem(w, http.StatusBadRequest, "Record", p.Problems())
		return
	}
	id := r.PathValue("event_id")
	row, ok, err := c.store.Get(r.Context(), id)
	if err != nil {
		renderProblem(w, http.StatusInternalServerError, "Record", err.Error())
		return
	}
	if !ok {
		renderProblem(w, http.StatusNotFound, "Record", "No record has the event ID "+id+".")
		return
	}
	link, _, err := c.store.CheckLink(r.Context(), row.Chain, row.Seq)
	if err != nil {
		renderProblem(w, http.StatusInternalServerError, "Record", err.Error())
		return
	}
	var pretty bytes.Buffer
	if json.Indent(&pretty, row.Record, "", "  ") != nil {
		pretty.Reset()
		pretty.Write(row.Record)
	}
	get := row.Fields()
	page := recordPage{Row: recordRowOf(row), Canonical: pretty.String(), Chain: row.Chain, Seq: row.Seq,
		StoredAt: time.UnixMilli(row.StoredMS).UTC().Format(time.RFC3339Nano), PrevHash: row.PrevHash, Hash: row.Hash, Link: link,
		PolicyID: get(record.FieldPolicyID)}
	page.CorrelationHref = template.URL("/search?" + url.Values{"q": {page.Row.Correlation}}.Encode()) // #nosec: url.Values-encoded, relative
	for _, name := range []string{record.FieldReasonCode, record.FieldModel, record.FieldProjectID, record.FieldStage, record.FieldAPIKeyID, record.FieldAction} {
		if v := get(name); v != "" {
			page.Fields = append(page.Fields, fieldRow{name, v})
		}
	}
	if page.PolicyID != "" {
		created, _ := time.Parse(time.RFC3339Nano, page.Row.Time)
		changes, next, err := c.store.Query(r.Context(), store.Filter{EventKind: record.EventKindAdmin, PolicyID: page.PolicyID,
			Until: created.Add(time.Millisecond), Limit: 20})
		if err != nil {
			renderProblem(w, http.StatusInternalServerError, "Record", err.Error())
			return
		}
		for _, c := range changes {
			if c.Seq != row.Seq {
				page.Changes = append(page.Changes, adminRowOf(c.Fields()))
			}
		}
		page.MoreChanges = next != ""
	}
	renderFragment(w, http.StatusOK, "record", page)
}

type adminPage struct {
	Days   int
	Events []markerRow
	Next   template.URL
}

// admin: the admin audit events of the last days, newest first, a page at
// a time (the /admin/api/v1/audit list).
func (c *Console) admin(w http.ResponseWriter, r *http.Request) {
	p := auditapi.NewParams(r, "days", "cursor")
	days := p.PositiveInt("days", 7)
	f := store.Filter{EventKind: record.EventKindAdmin, Since: c.api.Now().Add(-time.Duration(days) * 24 * time.Hour), Limit: auditapi.DefaultLimit, Cursor: p.Str("cursor")}
	if p.Problems() != "" {
		renderProblem(w, http.StatusBadRequest, "Admin events", p.Problems())
		return
	}
	rows, next, err := c.store.Query(r.Context(), f)
	switch {
	case errors.Is(err, store.ErrBadCursor):
		renderProblem(w, http.StatusBadRequest, "Admin events", "cursor: "+err.Error())
		return
	case err != nil:
		renderProblem(w, http.StatusInternalServerError, "Admin events", err.Error())
		return
	}
	page := adminPage{Days: days}
	for _, row := range rows {
		page.Events = append(page.Events, adminRowOf(row.Fields()))
	}
	if next != "" {
		page.Next = template.URL("/admin?" + url.Values{"days": {strconv.Itoa(days)}, "cursor": {next}}.Encode()) // #nosec: url.Values-encoded, relative
	}
	renderFragment(w, http.StatusOK, "admin", page)
}

type integrityPage struct {
	Report     store.Report
	CheckedAt  string
	Age        string
	Took       string
	Head       store.Link
	Chain      string               // this collector's chain in a shared store
	SignedHead *store.HeadStatement // the newest that verifies under the store's key
	// StartProblem: at open, the chain did not continue the newest signed
	// head (a head that does not verify, a rewrite, a cut tail), said,
	// never shown as "nothing signed".
	StartProblem string
	Signature    string
	KeyID        string
	PublicKey    string
	Signing      bool
}

// integrity: the newest whole-chain verification (run now when asked, or
// when none ran yet), the head and checkpoint, the newest signed head and
// the key that verifies it.
func (c *Console) integrity(w http.ResponseWriter, r *http.Request) {
	p := auditapi.NewParams(r, "verify")
	if v := p.Str("verify"); v != "" && v != "now" {
		p.Add(fmt.Sprintf("verify: %q is not now", v))
	}
	if p.Problems() != "" {
		renderProblem(w, http.StatusBadRequest, "Integrity", p.Problems())
		return
	}
	rep, at, took, ok := c.api.LastVerified()
	if !ok || p.Str("verify") == "now" {
		if _, err := c.api.VerifyChain(r.Context()); err != nil {
			renderProblem(w, http.StatusInternalServerError, "Integrity", err.Error())
			return
		}
		rep, at, took, _ = c.api.LastVerified()
	}
	page := integrityPage{Report: rep, CheckedAt: at.UTC().Format(time.RFC3339), Age: c.api.Now().Sub(at).Round(time.Second).String(),
		Took: took.Round(time.Millisecond).String(), Head: c.store.Head(), Chain: c.store.Chain()}
	if signer := c.store.Signer(); signer != nil {
		page.Signing, page.KeyID, page.PublicKey = true, signer.KeyID(), string(signing.PublicKeyPEM(signer.PublicKey()))
		page.StartProblem = c.store.StartCheck().Problem
		if sh := c.store.LastSignedHead(); sh != nil {
			if st, err := sh.Open(signer.PublicKey()); err == nil {
				page.SignedHead, page.Signature = &st, sh.Signature
			}
		}
	}
	renderFragment(w, http.StatusOK, "integrity", page)
}
