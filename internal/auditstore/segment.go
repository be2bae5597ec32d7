// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package auditstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// A segment is a run of one chain's links that an evidence bundle carries
// (internal/evidence): from just before the first record it covers to a
// signed head. Reading it needs only a snapshot of the database; nothing
// here writes.

// LinkHash is a link's hash (linkHash), for verifiers outside the store.
func LinkHash(seq, storedMS int64, prevHash string, record []byte) string {
	return linkHash(seq, storedMS, prevHash, record)
}

// GenesisOf is the prev_hash of a chain's first record.
func GenesisOf(chain string) string { return genesisOf(chain) }

// Snapshot is a read of the store that sees one state of the database
// across its calls; Close it.
type Snapshot struct {
	tx txn
}

// Snapshot starts a consistent read.
func (s *Store) Snapshot(ctx context.Context) (*Snapshot, error) {
	tx, err := s.begin(ctx, true)
	if err != nil {
		return nil, err
	}
	return &Snapshot{tx: tx}, nil
}

// Close ends the read.
func (sn *Snapshot) Close() error { return sn.tx.Rollback() }

// Chains are the store's chains ("" for a SQLite file's one).
func (sn *Snapshot) Chains(ctx context.Context) ([]string, error) {
	if !sn.tx.pg {
		return []string{""}, nil
	}
	return chainNamesIn(ctx, sn.tx)
}

// Span is where a time range lies in one chain.
type Span struct {
	// First is the first link a bundle must carry: the earlier of the
	// first record created in the range (of the policy, when one is named)
	// and the first record stored at or after from.
	First int64
	// Last is the last record created in the range (of the policy); 0
	// when the chain has none.
	Last int64
	// Checkpoint is the chain's last purged link.
	Checkpoint Checkpoint
}

// SpanOf locates [from, to) in chain: records created in it (of policy, ""
// for every policy), and the first record stored from from on.
func (sn *Snapshot) SpanOf(ctx context.Context, chain string, from, to time.Time, policy string) (Span, error) {
	var sp Span
	var err error
	if sp.Checkpoint, err = chainCheckpoint(ctx, sn.tx, chain); err != nil {
		return sp, err
	}
	created := `chain = ? AND created_ms >= ? AND created_ms < ?`
	args := []any{chain, from.UnixMilli(), to.UnixMilli()}
	if policy != "" {
		created += ` AND policy_id = ?`
		args = append(args, policy)
	}
	var first, last, stored sql.NullInt64
	if err := sn.tx.QueryRowContext(ctx, `SELECT MIN(seq), MAX(seq) FROM records WHERE `+created, args...).Scan(&first, &last); err != nil {
		return sp, fmt.Errorf("locating the range in chain %q: %w", chain, err)
	}
	if !last.Valid {
		return sp, nil
	}
	if err := sn.tx.QueryRowContext(ctx, `SELECT MIN(seq) FROM records WHERE chain = ? AND stored_ms >= ?`, chain, from.UnixMilli()).Scan(&stored); err != nil {
		return sp, fmt.Errorf("locating the range in chain %q: %w", chain, err)
	}
	sp.First, sp.Last = first.Int64, last.Int64
	if stored.Valid && stored.Int64 < sp.First {
		sp.First = stored.Int64
	}
	return sp, nil
}

// ClosingHead is the first signed head of chain at or after seq that was
// signed at or after notBefore (opened under the store's own key, which
// the caller checks): every record the store received before notBefore is
// then at or before its seq.
func (sn *Snapshot) ClosingHead(ctx context.Context, chain string, seq int64, notBefore time.Time) (SignedHead, HeadStatement, error) {
	heads, err := signedHeads(ctx, sn.tx, chain)
	if err != nil {
		return SignedHead{}, HeadStatement{}, err
	}
	var best SignedHead
	var bestSt HeadStatement
	found := false
	for _, h := range heads {
		var st HeadStatement
		if json.Unmarshal(h.Statement, &st) != nil || st.Seq < seq {
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, st.SignedAt)
		if err != nil || at.Before(notBefore) {
			continue
		}
		if !found || st.Seq < bestSt.Seq {
			best, bestSt, found = h, st, true
		}
	}
	if !found {
		return SignedHead{}, HeadStatement{}, ErrNoClosingHead
	}
	return best, bestSt, nil
}

// HeadsWithin are chain's signed heads at seqs from first to last, oldest
// first: with their vouched_from, what vouches for each link of a run.
func (sn *Snapshot) HeadsWithin(ctx context.Context, chain string, first, last int64) ([]SignedHead, error) {
	heads, err := signedHeads(ctx, sn.tx, chain)
	if err != nil {
		return nil, err
	}
	var out []SignedHead
	for _, h := range heads {
		var st HeadStatement
		if json.Unmarshal(h.Statement, &st) == nil && st.Seq >= first && st.Seq <= last {
			out = append(out, h)
		}
	}
	return out, nil
}

// ErrNoClosingHead: no head was signed yet at or after the range's end
// over its last record.
var ErrNoClosingHead = errors.New("no signed head covers the range yet")

// Links calls fn for chain's links from seq from to seq to, in order.
func (sn *Snapshot) Links(ctx context.Context, chain string, from, to int64, fn func(Row) error) error {
	rows, err := sn.tx.QueryContext(ctx, `SELECT chain, seq, stored_ms, record, prev_hash, hash FROM records WHERE chain = ? AND seq >= ? AND seq <= ? ORDER BY seq`, chain, from, to)
	if err != nil {
		return fmt.Errorf("reading chain %q: %w", chain, err)
	}
	defer rows.Close()
	for rows.Next() {
		var r Row
		var rec string
		if err := rows.Scan(&r.Chain, &r.Seq, &r.StoredMS, &rec, &r.PrevHash, &r.Hash); err != nil {
			return fmt.Errorf("reading chain %q: %w", chain, err)
		}
		r.Record = json.RawMessage(rec)
		if err := fn(r); err != nil {
			return err
		}
	}
	return rows.Err()
}
