// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package auditstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/policyaudit/policyaudit/internal/record"
)

// LinkCheck is the verification of one record's place in the chain: its
// own hash, its link to the record before it and the next record's link to
// it, checked with the same rules as a whole-chain verification.
type LinkCheck struct {
	OK      bool   `json:"ok"`
	Seq     int64  `json:"seq"`
	Problem string `json:"problem,omitempty"`
	// Previous is the link this record's prev_hash must equal: the record
	// before it, or the retention checkpoint (genesis for the first record).
	Previous       Link `json:"previous"`
	FromCheckpoint bool `json:"from_checkpoint"`
	// Next is the record after it, nil at the head.
	Next *Link `json:"next,omitempty"`
}

// storedLink is a chain row with the indexed columns verification compares.
type storedLink struct {
	seq, storedMS  int64
	prevHash, hash string
	record         []byte
	cols           Columns
}

const linkColumns = `seq, stored_ms, event_id, event_kind, created_ms, correlation_id, "user", decision,
	effective_decision, policy_id, policy_version, rollout_mode, model, project_id, reason_code, action,
	record, prev_hash, hash, input_tokens, output_tokens, total_tokens, cost, currency`

func scanLink(sc interface{ Scan(...any) error }) (storedLink, error) {
	var l storedLink
	var record string
	var cost sql.NullFloat64
	c := &l.cols
	err := sc.Scan(&l.seq, &l.storedMS, &c.EventID, &c.EventKind, &c.CreatedMS, &c.CorrelationID, &c.User, &c.Decision,
		&c.EffectiveDecision, &c.PolicyID, &c.PolicyVersion, &c.RolloutMode, &c.Model, &c.ProjectID,
		&c.ReasonCode, &c.Action, &record, &l.prevHash, &l.hash, &c.InputTokens, &c.OutputTokens, &c.TotalTokens, &cost, &c.Currency)
	c.Cost, c.HasCost = cost.Float64, cost.Valid
	l.record = []byte(record)
	return l, err
}

// CheckLink verifies the link of the record at seq: the record before it
// (or the checkpoint) hashes to its prev_hash, its own hash covers its
// position, stored time and canonical bytes, its indexed columns say what it
// says, and the next record, if any, links to it. It is the part of Verify
// a record page can afford; false when no record has that seq.
func (s *Store) CheckLink(ctx context.Context, chainName string, seq int64) (LinkCheck, bool, error) {
	tx, err := s.begin(ctx, true)
	if err != nil {
		return LinkCheck{}, false, err
	}
	defer func() { _ = tx.Rollback() }()
	rows, err := tx.QueryContext(ctx, `SELECT `+linkColumns+` FROM records WHERE chain = ? AND seq BETWEEN ? AND ? ORDER BY seq`, chainName, seq-1, seq+1)
	if err != nil {
		return LinkCheck{}, false, fmt.Errorf("reading the links around seq %d: %w", seq, err)
	}
	defer rows.Close()
	var links []storedLink
	for rows.Next() {
		l, err := scanLink(rows)
		if err != nil {
			return LinkCheck{}, false, fmt.Errorf("reading the links around seq %d: %w", seq, err)
		}
		links = append(links, l)
	}
	if err := rows.Err(); err != nil {
		return LinkCheck{}, false, err
	}
	at := -1
	for i, l := range links {
		if l.seq == seq {
			at = i
		}
	}
	if at < 0 {
		return LinkCheck{}, false, nil
	}
	check := LinkCheck{Seq: seq}
	var start Checkpoint
	if at > 0 {
		p := links[at-1]
		start = Checkpoint{Link: Link{Seq: p.seq, Hash: p.hash}, StoredMS: p.storedMS}
	} else {
		if start, err = chainCheckpoint(ctx, tx, chainName); err != nil {
			return LinkCheck{}, false, err
		}
		check.FromCheckpoint = true
		if start.Seq != seq-1 {
			// Neither the record before it nor a checkpoint there: the
			// chain has a hole, which Next reports as a deleted record.
			check.Previous = Link{Seq: seq - 1}
			start = Checkpoint{Link: Link{Seq: seq - 2, Hash: links[at].prevHash}}
		} else {
			check.Previous = start.Link
		}
	}
	if at > 0 {
		check.Previous = start.Link
	}
	chain := NewChain(start)
	ok := true
	for _, l := range links[at:] {
		if !chain.Next(l.seq, l.storedMS, l.prevHash, l.hash, l.record, &l.cols) {
			ok = false
			break
		}
		if l.seq > seq {
			check.Next = &Link{Seq: l.seq, Hash: l.hash}
		}
	}
	rep := chain.Finish()
	check.OK, check.Problem = ok, rep.Problem
	return check, true, nil
}

// ErrNoDecisions is returned by RecentSpan when the store holds no decision.
var ErrNoDecisions = errors.New("no policy decision is stored")

// RecentSpan is the time range of the stored decisions of the window before
// the newest one: the default view of a timeline. Both ends come from the
// (event_kind, created_ms) index: two lookups, not a scan.
func (s *Store) RecentSpan(ctx context.Context, window int64) (firstMS, lastMS int64, err error) {
	var last sql.NullInt64
	if err := s.db.QueryRowContext(ctx, `SELECT MAX(created_ms) FROM records WHERE event_kind = ?`, record.EventKindDecision).Scan(&last); err != nil {
		return 0, 0, fmt.Errorf("finding the newest decision: %w", err)
	}
	if !last.Valid {
		return 0, 0, ErrNoDecisions
	}
	var first int64
	if err := s.db.QueryRowContext(ctx, `SELECT MIN(created_ms) FROM records WHERE event_kind = ? AND created_ms >= ?`,
		record.EventKindDecision, last.Int64-window).Scan(&first); err != nil {
		return 0, 0, fmt.Errorf("finding the oldest decision of the window: %w", err)
	}
	return first, last.Int64, nil
}

// Fields decodes the row's record once and reads its string fields by path.
func (r Row) Fields() Getter {
	var m map[string]any
	_ = json.Unmarshal(r.Record, &m) // stored records are canonical JSON objects; a bad one reads as empty
	return mapGetter(m)
}
