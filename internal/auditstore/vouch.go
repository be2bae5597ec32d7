// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package auditstore

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
)

// SeqRange is the records from seq From to seq To, both included.
type SeqRange struct {
	From int64 `json:"from"`
	To   int64 `json:"to"`
}

// Len is how many records the range holds.
func (r SeqRange) Len() int64 { return r.To - r.From + 1 }

// StartCheck is what the store found when it opened with a key, before it
// signed anything: the newest signed head that verifies and matches the
// chain, and the records after it, which no signature covers.
type StartCheck struct {
	// SignedHead is the newest head signed by the store's key whose hash the
	// chain still has at its seq; nil when there is none.
	SignedHead *Link `json:"signed_head,omitempty"`
	// Unvouched are the records after it: appended by a process that
	// stopped before signing them (a crash), or written by someone with the
	// disk. The store never vouches for them; verification names them.
	Unvouched *SeqRange `json:"unvouched,omitempty"`
	// Problem says why the chain does not continue its newest signed head
	// (a rewrite, a cut tail, a rollback, a forged head), or is empty.
	Problem string `json:"problem,omitempty"`
}

// checkAtStart verifies the chain from the newest signed head the store
// holds to its last record and sets where this process's vouching starts:
// the first record it will append itself. Whatever the check finds, the
// store keeps appending (an audit trail does not stop taking records), and
// its signatures never vouch for records it found unsigned.
func (s *Store) checkAtStart(ctx context.Context) error {
	s.vouchedFrom = s.headSeq + 1
	tx, err := s.begin(ctx, true)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	cp, err := s.checkpoint(ctx, tx)
	if err != nil {
		return err
	}
	newest, st, skipped, err := newestValidHead(ctx, tx, s.signer.PublicKey(), s.chain)
	if err != nil {
		return err
	}
	check := StartCheck{}
	if skipped > 0 {
		check.Problem = fmt.Sprintf("%d newer signed heads do not verify under key %s (forged, changed or signed by another key)", skipped, s.signer.KeyID())
	}
	s.lastSigned, s.signedSeq = nil, cp.Seq
	from := cp
	if newest != nil {
		s.lastSigned, s.signedSeq = newest, st.Seq
		switch {
		case st.Seq > s.headSeq:
			check.Problem = joinProblem(check.Problem, fmt.Sprintf("the chain ends at seq %d, before its signed head at seq %d: records were deleted from the end or the file was rolled back", s.headSeq, st.Seq))
		case st.Seq >= cp.Seq:
			hash := cp.Hash
			if st.Seq > cp.Seq {
				if err := tx.QueryRowContext(ctx, `SELECT hash FROM records WHERE chain = ? AND seq = ?`, s.chain, st.Seq).Scan(&hash); err != nil && !errors.Is(err, sql.ErrNoRows) {
					return fmt.Errorf("reading the record of the signed head at seq %d: %w", st.Seq, err)
				}
			}
			if hash != st.Hash {
				check.Problem = joinProblem(check.Problem, fmt.Sprintf("the record at seq %d is not what its signed head covers: the chain was rewritten", st.Seq))
			} else {
				check.SignedHead = &Link{Seq: st.Seq, Hash: st.Hash}
				from = Checkpoint{Link: *check.SignedHead, StoredMS: st.StoredMS}
			}
		}
	}
	if s.headSeq > from.Seq {
		check.Unvouched = &SeqRange{From: from.Seq + 1, To: s.headSeq}
	}
	if check.Problem == "" && check.Unvouched != nil {
		if problem, err := walkFrom(ctx, tx, s.chain, from); err != nil {
			return err
		} else if problem != "" {
			check.Problem = problem
		}
	}
	s.startCheck = check
	return nil
}

func joinProblem(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// newestValidHead is the newest signed head that verifies under pub, and
// how many newer ones did not.
func newestValidHead(ctx context.Context, tx txn, pub ed25519.PublicKey, chain string) (*SignedHead, HeadStatement, int, error) {
	rows, err := tx.QueryContext(ctx, `SELECT statement, signature FROM signed_heads WHERE chain = ? ORDER BY id DESC`, chain)
	if err != nil {
		return nil, HeadStatement{}, 0, fmt.Errorf("reading the signed heads: %w", err)
	}
	defer rows.Close()
	skipped := 0
	for rows.Next() {
		var statement string
		var sh SignedHead
		if err := rows.Scan(&statement, &sh.Signature); err != nil {
			return nil, HeadStatement{}, 0, fmt.Errorf("reading the signed heads: %w", err)
		}
		sh.Statement = json.RawMessage(statement)
		if st, err := sh.Open(pub); err == nil && st.Chain == chain {
			return &sh, st, skipped, nil
		}
		skipped++
	}
	return nil, HeadStatement{}, skipped, rows.Err()
}

// walkFrom checks the links after from; it returns the problem found, or "".
func walkFrom(ctx context.Context, tx txn, chainName string, from Checkpoint) (string, error) {
	chain := NewChain(from)
	rows, err := tx.QueryContext(ctx, `SELECT `+linkColumns+` FROM records WHERE chain = ? AND seq > ? ORDER BY seq`, chainName, from.Seq)
	if err != nil {
		return "", fmt.Errorf("reading the chain after seq %d: %w", from.Seq, err)
	}
	defer rows.Close()
	for rows.Next() {
		l, err := scanLink(rows)
		if err != nil {
			return "", fmt.Errorf("reading the chain after seq %d: %w", from.Seq, err)
		}
		if !chain.Next(l.seq, l.storedMS, l.prevHash, l.hash, l.record, &l.cols) {
			rep := chain.Finish()
			return fmt.Sprintf("the chain is broken at seq %d: %s", rep.FirstBad, rep.Problem), nil
		}
	}
	return "", rows.Err()
}

// StartCheck is what the store found at open (zero without a key).
func (s *Store) StartCheck() StartCheck { return s.startCheck }

// unvouched are the records of [first, last] that no range of vouched covers.
// Unvouched are the ranges of [first, last] that none of vouched covers.
func Unvouched(first, last int64, vouched []SeqRange) []SeqRange {
	return unvouched(first, last, vouched)
}

func unvouched(first, last int64, vouched []SeqRange) []SeqRange {
	sort.Slice(vouched, func(i, j int) bool { return vouched[i].From < vouched[j].From })
	var gaps []SeqRange
	next := first // the first record not known to be covered
	for _, r := range vouched {
		if next > last {
			break
		}
		if r.From > next {
			gaps = append(gaps, SeqRange{From: next, To: min(r.From-1, last)})
		}
		next = max(next, r.To+1)
	}
	if next <= last {
		gaps = append(gaps, SeqRange{From: next, To: last})
	}
	return gaps
}

// vouchingHead is the first head at or after seq, signed under pub, that
// vouches for seq (its process appended it, or a head from before
// vouched_from vouches for its whole chain) and whose hash the chain still
// has: what lets retention trust the record it cuts at. A head signed by a
// later process covers the chain's hash but not records it found unsigned.
func vouchingHead(ctx context.Context, tx txn, pub ed25519.PublicKey, chain string, seq int64) (HeadStatement, bool, error) {
	rows, err := tx.QueryContext(ctx, `SELECT statement, signature FROM signed_heads WHERE chain = ? AND seq >= ? ORDER BY seq, id`, chain, seq)
	if err != nil {
		return HeadStatement{}, false, fmt.Errorf("reading the signed heads: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var statement string
		var sh SignedHead
		if err := rows.Scan(&statement, &sh.Signature); err != nil {
			return HeadStatement{}, false, fmt.Errorf("reading the signed heads: %w", err)
		}
		var claim HeadStatement
		if json.Unmarshal([]byte(statement), &claim) != nil || claim.VouchedFrom > seq {
			continue // checked before the signature: a later process's heads are many
		}
		sh.Statement = json.RawMessage(statement)
		st, err := sh.Open(pub)
		if err != nil || st.Chain != chain {
			continue
		}
		var hash string
		if err := tx.QueryRowContext(ctx, `SELECT hash FROM records WHERE chain = ? AND seq = ?`, chain, st.Seq).Scan(&hash); err != nil && !errors.Is(err, sql.ErrNoRows) {
			return HeadStatement{}, false, err
		}
		if hash == st.Hash {
			return st, true, nil
		}
	}
	return HeadStatement{}, false, rows.Err()
}
