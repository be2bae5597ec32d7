// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package auditstore

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/policyaudit/policyaudit/internal/pdatajson"
	"github.com/policyaudit/policyaudit/internal/record"
)

// ActionSubjectErase is the admin event an erasure appends to the chain.
const ActionSubjectErase = "subject.erase"

// Erasure is what EraseSubject did.
type Erasure struct {
	// Token is the erased person's token: their records keep it, about
	// nobody now.
	Token string `json:"token"`
	// EventID is the subject.erase admin event in the chain.
	EventID string `json:"event_id"`
	// Records is how many stored records carry the token.
	Records int64 `json:"records"`
}

// EraseSubject erases the person whose vault lookup is lookup: it appends
// a subject.erase admin event (the actor, the reason and the token; never
// the value), deletes the vault entry and what the engine keeps of it
// (Forget), and, with a key, signs the head so the event is anchored at
// once. No stored record changes: the chain verifies before and after.
// False when the vault holds no token for lookup (never tokenised, or
// erased already): nothing is appended then.
func (s *Store) EraseSubject(ctx context.Context, lookup, actor, reason string) (Erasure, bool, error) {
	token, ok, err := s.Token(ctx, lookup)
	if err != nil || !ok {
		return Erasure{}, false, err
	}
	entry, err := erasureEntry(token, actor, reason, s.now())
	if err != nil {
		return Erasure{}, false, err
	}
	// The event first: an erasure that fails after it is recorded as
	// attempted, and a retry records it again; the other order could erase
	// with no trace in the chain.
	if _, _, err := s.Append(ctx, []Entry{entry}); err != nil {
		return Erasure{}, false, fmt.Errorf("recording the erasure: %w", err)
	}
	er := Erasure{Token: token, EventID: entry.EventID}
	if _, _, err := s.Forget(ctx, lookup); err != nil {
		return er, true, err
	}
	if s.signer != nil {
		if err := s.SignHead(ctx, SignedForErasure); err != nil {
			return er, true, fmt.Errorf("signing the head after the erasure: %w", err)
		}
	}
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM records WHERE "user" = ?`, token).Scan(&er.Records); err != nil {
		return er, true, fmt.Errorf("counting the token's records: %w", err)
	}
	return er, true, nil
}

// erasureEntry is the canonical subject.erase admin event.
func erasureEntry(token, actor, reason string, now time.Time) (Entry, error) {
	id := uuid.NewString()
	rec := record.Record{
		Kind: record.KindAdmin, EventID: id, CorrelationID: id,
		CreatedAt: now.UTC().Truncate(time.Millisecond),
		Actor:     record.Actor{ID: actor, Type: "user"},
		Action:    ActionSubjectErase,
		Resource:  record.Resource{Type: "subject", ID: token},
		Outcome:   "success",
		Details:   map[string]any{"reason": reason},
	}
	m := pcommon.NewMap()
	rec.CopyTo(m)
	cols, err := ColumnsOf(func(path ...string) string { return pdatajson.StringAt(m, path...) })
	if err != nil {
		return Entry{}, err
	}
	return Entry{Columns: cols, Record: pdatajson.AppendCanonicalMap(nil, m)}, nil
}
