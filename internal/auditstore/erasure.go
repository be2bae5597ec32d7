// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package auditstore

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/policyaudit/policyaudit/internal/pdatajson"
	"github.com/policyaudit/policyaudit/internal/record"
)

// The admin events the subject endpoints append to the chain.
const (
	ActionSubjectErase  = "subject.erase"
	ActionSubjectExport = "subject.export"
)

// Erasure is what EraseSubject did.
type Erasure struct {
	// Token is the erased person's token: their records keep it, about
	// nobody now.
	Token string `json:"token"`
	// EventID is the subject.erase admin event in the chain.
	EventID string `json:"event_id"`
	// Records is how many stored records carry the token.
	Records int64 `json:"records"`
	// Related are the other tokens in those records (an API key ID, an
	// actor ID): each is forgotten only when its own value is erased.
	Related []string `json:"related_tokens,omitempty"`
}

// EraseSubject erases the person whose vault lookup is lookup: it appends
// a subject.erase admin event (the actor, the reason and the token; never
// the value), deletes the vault entry and what the engine keeps of it
// (Forget), and, with a key, signs the head so the event is anchored at
// once. No stored record changes: the chain verifies before and after.
// False when the vault holds no token for lookup (never tokenised, or
// erased already): nothing is appended then, but the engine's copies are
// removed again, so retrying an erasure whose clean-up failed completes it.
func (s *Store) EraseSubject(ctx context.Context, lookup, actor, reason string) (Erasure, bool, error) {
	token, ok, err := s.Token(ctx, lookup)
	if err != nil {
		return Erasure{}, false, err
	}
	if !ok {
		return Erasure{}, false, s.scrub(ctx)
	}
	er := Erasure{Token: token}
	if er.Related, er.Records, err = s.relatedTokens(ctx, token); err != nil {
		return Erasure{}, false, err
	}
	// The event first: an erasure that fails after it is recorded as
	// attempted, and a retry records it again; the other order could erase
	// with no trace in the chain.
	if er.EventID, err = s.AppendSubjectEvent(ctx, ActionSubjectErase, token, actor, reason); err != nil {
		return Erasure{}, false, fmt.Errorf("recording the erasure: %w", err)
	}
	if _, _, err := s.Forget(ctx, lookup); err != nil {
		return er, true, err
	}
	if s.signer != nil {
		if err := s.SignHead(ctx, SignedForErasure); err != nil {
			return er, true, fmt.Errorf("signing the head after the erasure: %w", err)
		}
	}
	return er, true, nil
}

// AppendSubjectEvent appends an admin event of action about a subject's
// token (resource type subject; "none" when the vault held no token),
// with the actor and the reason, and returns its event_id.
func (s *Store) AppendSubjectEvent(ctx context.Context, action, token, actor, reason string) (string, error) {
	entry, err := subjectEntry(action, token, actor, reason, s.now())
	if err != nil {
		return "", err
	}
	if _, _, err := s.Append(ctx, []Entry{entry}); err != nil {
		return "", err
	}
	return entry.EventID, nil
}

// relatedTokens are the tokens other than token in the records that carry
// token (as user or actor, or in any other field: an API key ID), and how
// many records carry it. It reads every record (an erasure is rare; the
// token may be in a field no index covers).
func (s *Store) relatedTokens(ctx context.Context, token string) ([]string, int64, error) {
	// In the canonical JSON a token is a quoted string; "_" is a LIKE
	// wildcard, escaped.
	pattern := `%"` + strings.ReplaceAll(token, "_", `\_`) + `"%`
	rows, err := s.db.QueryContext(ctx, `SELECT record FROM records WHERE "user" = ? OR record LIKE ? ESCAPE '\'`, token, pattern)
	if err != nil {
		return nil, 0, fmt.Errorf("reading the token's records: %w", err)
	}
	defer rows.Close()
	seen := map[string]bool{}
	var related []string
	var n int64
	for rows.Next() {
		var rec string
		if err := rows.Scan(&rec); err != nil {
			return nil, 0, err
		}
		var v map[string]any
		if json.Unmarshal([]byte(rec), &v) != nil {
			continue
		}
		if action, _ := v[record.FieldAction].(string); strings.HasPrefix(action, "subject.") {
			continue // an earlier export or erasure names the token: not the person's record
		}
		n++
		eachToken(v, func(t string) {
			if t != token && !seen[t] {
				seen[t] = true
				related = append(related, t)
			}
		})
	}
	sort.Strings(related)
	return related, n, rows.Err()
}

// eachToken calls fn for every string in v in a token's form.
func eachToken(v any, fn func(string)) {
	switch x := v.(type) {
	case string:
		if record.IsToken(x) {
			fn(x)
		}
	case map[string]any:
		for _, e := range x {
			eachToken(e, fn)
		}
	case []any:
		for _, e := range x {
			eachToken(e, fn)
		}
	}
}

// subjectEntry is the canonical admin event of a subject endpoint.
func subjectEntry(action, token, actor, reason string, now time.Time) (Entry, error) {
	if token == "" {
		token = "none"
	}
	id := uuid.NewString()
	rec := record.Record{
		Kind: record.KindAdmin, EventID: id, CorrelationID: id,
		CreatedAt: now.UTC().Truncate(time.Millisecond),
		Actor:     record.Actor{ID: actor, Type: "user"},
		Action:    action,
		Resource:  record.Resource{Type: "subject", ID: token},
		Outcome:   "success",
		Details:   map[string]any{"reason": reason},
	}
	m := pcommon.NewMap()
	rec.CopyTo(m)
	cols, err := ColumnsOf(func(path ...string) string { return pdatajson.StringAt(m, path...) }, func(path ...string) (float64, bool) { return pdatajson.NumberAt(m, path...) })
	if err != nil {
		return Entry{}, err
	}
	return Entry{Columns: cols, Record: pdatajson.AppendCanonicalMap(nil, m)}, nil
}
