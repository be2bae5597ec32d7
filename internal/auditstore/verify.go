// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package auditstore

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"

	"github.com/policyaudit/policyaudit/internal/pdatajson"
)

// Report is the outcome of a verification.
type Report struct {
	OK bool `json:"ok"`
	// Chain names the chain of a shared store; Chains, on a shared store's
	// report, are its chains one by one (the fields above them then sum
	// or name the first problem).
	Chain      string         `json:"chain,omitempty"`
	Chains     []Report       `json:"chains,omitempty"`
	Registry   *RegistryCheck `json:"registry,omitempty"`
	Records    int64          `json:"records"`
	Checkpoint Link           `json:"checkpoint"`
	Head       Link           `json:"head"`
	FirstBad   int64          `json:"first_bad_seq,omitempty"`
	Problem    string         `json:"problem,omitempty"`
	// Anchored: the signed heads and the checkpoint were checked under a
	// trusted public key (KeyID). Without it the chain is only shown intact
	// from its checkpoint on: a cut prefix or a rolled-back file cannot be told.
	Anchored bool   `json:"anchored"`
	KeyID    string `json:"key_id,omitempty"`
	// SignedHead is the newest signed head the chain reaches;
	// UnsignedRecords the records after it, which no signature covers yet.
	SignedHead      *Link `json:"signed_head,omitempty"`
	UnsignedRecords int64 `json:"unsigned_records"`
	// Unvouched are ranges before the newest signed head that no signature
	// vouched for when it was made: appended by a process that stopped
	// before signing them (a crash), or rewritten by someone with the disk
	// who then let the store restart. Only the links cover them.
	Unvouched        []SeqRange `json:"unvouched,omitempty"`
	UnvouchedRecords int64      `json:"unvouched_records"`
}

// Chain checks links one by one; the database and exported JSON lines are
// both verified through it.
type Chain struct {
	report   Report
	prev     string
	nextSeq  int64
	storedMS int64
	// signed maps a seq to the hash a signed head (or an expected head given
	// from outside) says the chain has there.
	signed map[int64]string
	// lastSigned is the last seq of the walk a signed (or expected) head
	// vouched for.
	lastSigned int64
	// expectedOnly marks the seqs in signed that only an expected head, no
	// signature, names.
	expectedOnly map[int64]bool
	// vouched are the ranges the signed heads vouch for.
	vouched []SeqRange
}

// NewChain starts a verification at a checkpoint.
func NewChain(cp Checkpoint) *Chain {
	return &Chain{report: Report{OK: true, Checkpoint: cp.Link, Head: cp.Link}, prev: cp.Hash, nextSeq: cp.Seq + 1,
		storedMS: cp.StoredMS, signed: map[int64]string{}, expectedOnly: map[int64]bool{}}
}

func (c *Chain) fail(seq int64, format string, args ...any) bool {
	c.report.OK = false
	c.report.FirstBad = seq
	c.report.Problem = fmt.Sprintf(format, args...)
	return false
}

// Anchor checks signed heads under pub before the links are walked: each
// signature, and, when the chain starts after a purge, that its checkpoint is
// a signed retention head. Signed seqs and hashes are then checked as the
// walk passes them.
func (c *Chain) Anchor(pub ed25519.PublicKey, heads []SignedHead) bool {
	return c.AnchorKeys(NewKeyring(pub), "", heads)
}

// AnchorKeys is Anchor for the heads of the named chain, each checked under
// the trusted key it names (the collectors of a fleet may each have one).
func (c *Chain) AnchorKeys(keys Keyring, chain string, heads []SignedHead) bool {
	c.report.Anchored, c.report.KeyID = true, keys.IDs()
	cp := c.report.Checkpoint
	retained := false
	for _, h := range heads {
		st, err := keys.Open(h)
		if err != nil {
			return c.fail(st.Seq, "the signed head at seq %d: %v", st.Seq, err)
		}
		if st.Chain != chain {
			return c.fail(st.Seq, "the signed head at seq %d is of chain %q, not %q: heads were moved between chains", st.Seq, st.Chain, chain)
		}
		switch {
		case st.Seq < cp.Seq:
			continue // purged since
		case st.Reason == SignedForRetention && st.Seq > cp.Seq:
			return c.fail(cp.Seq+1, "a retention checkpoint was signed at seq %d, but the checkpoint is at seq %d: the checkpoint was moved back", st.Seq, cp.Seq)
		case st.Seq == cp.Seq && cp.Seq > 0:
			if st.Hash != cp.Hash {
				return c.fail(cp.Seq+1, "the checkpoint's hash differs from the signed head at seq %d", cp.Seq)
			}
			retained = retained || st.Reason == SignedForRetention
			continue
		}
		if prev, ok := c.signed[st.Seq]; ok && prev != st.Hash {
			return c.fail(st.Seq, "two signed heads at seq %d name different hashes", st.Seq)
		}
		c.signed[st.Seq] = st.Hash
		from := st.VouchedFrom
		if from == 0 { // signed before heads named what they vouch for
			from = cp.Seq + 1
		}
		if from <= st.Seq {
			c.vouched = append(c.vouched, SeqRange{From: max(from, cp.Seq+1), To: st.Seq})
		}
	}
	if cp.Seq > 0 && !retained {
		return c.fail(cp.Seq+1, "the checkpoint at seq %d is not a retention checkpoint signed by key %s: records before seq %d may have been cut", cp.Seq, c.report.KeyID, cp.Seq+1)
	}
	return true
}

// Expect makes the walk fail unless the chain reaches head (a signed head
// kept outside the database, the head the running store holds): records cut
// from the end, or a file rolled back to an earlier state, are then caught.
func (c *Chain) Expect(head Link) {
	prev, ok := c.signed[head.Seq]
	if ok && prev != head.Hash && c.report.OK {
		c.fail(head.Seq, "the expected head at seq %d differs from a signed head there", head.Seq)
		return
	}
	if !ok {
		c.signed[head.Seq] = head.Hash
		c.expectedOnly[head.Seq] = true
	}
}

// Next checks the link at seq. It returns false at the first bad link; the
// report then names it.
func (c *Chain) Next(seq, storedMS int64, prevHash, hash string, record []byte, cols *Columns) bool {
	if !c.report.OK {
		return false
	}
	switch {
	case seq != c.nextSeq:
		if seq > c.nextSeq {
			return c.fail(c.nextSeq, "seq %d is missing (the next record is seq %d): a record was deleted", c.nextSeq, seq)
		}
		return c.fail(seq, "seq %d follows seq %d: records were inserted or reordered", seq, c.nextSeq-1)
	case prevHash != c.prev:
		return c.fail(seq, "prev_hash does not match the hash of seq %d", seq-1)
	case linkHash(seq, storedMS, prevHash, record) != hash:
		return c.fail(seq, "hash does not match the record: the record, its stored time or its hash was changed")
	case storedMS < c.storedMS:
		return c.fail(seq, "stored_ms goes back in time from seq %d", seq-1)
	}
	if want, ok := c.signed[seq]; ok && want != hash {
		// The links agree with each other: someone rewrote them and
		// recomputed the hashes. Only the range since the last vouched
		// link is known.
		first := max(c.lastSigned, c.report.Checkpoint.Seq) + 1
		return c.fail(first, "the chain from seq %d to %d is not what the head signed or expected at seq %d covers: records in that range were rewritten and the hashes recomputed", first, seq, seq)
	}
	obj, err := decodeJSON(record)
	if err != nil {
		return c.fail(seq, "the record is not JSON: %v", err)
	}
	canonical, err := pdatajson.AppendCanonicalAny(nil, obj)
	if err != nil || !bytes.Equal(canonical, record) {
		return c.fail(seq, "the record is not in the canonical encoding (RFC 8785)")
	}
	if cols != nil {
		m, _ := obj.(map[string]any)
		want, err := ColumnsOfMap(m)
		if err != nil {
			return c.fail(seq, "%v", err)
		}
		if want != *cols {
			return c.fail(seq, "an indexed column no longer matches the record")
		}
	}
	c.prev, c.nextSeq, c.storedMS = hash, seq+1, storedMS
	c.report.Records++
	c.report.Head = Link{Seq: seq, Hash: hash}
	if _, ok := c.signed[seq]; ok {
		c.lastSigned = seq
		if !c.expectedOnly[seq] {
			c.report.SignedHead = &Link{Seq: seq, Hash: hash}
		}
	}
	return true
}

// Finish ends the walk: a signed or expected head beyond the last link means
// records were cut from the end or the file was rolled back.
func (c *Chain) Finish() Report {
	if c.report.OK {
		for seq := range c.signed {
			if seq > c.report.Head.Seq && (c.report.FirstBad == 0 || seq < c.report.FirstBad) {
				c.fail(c.report.Head.Seq+1, "the chain ends at seq %d, before the head at seq %d that was signed or expected: records were deleted from the end or the file was rolled back", c.report.Head.Seq, seq)
			}
		}
	}
	if c.report.SignedHead != nil {
		c.report.UnsignedRecords = c.report.Head.Seq - c.report.SignedHead.Seq
		if c.report.OK {
			c.report.Unvouched = unvouched(c.report.Checkpoint.Seq+1, c.report.SignedHead.Seq, c.vouched)
			for _, r := range c.report.Unvouched {
				c.report.UnvouchedRecords += r.Len()
			}
		}
	} else {
		c.report.UnsignedRecords = c.report.Head.Seq - c.report.Checkpoint.Seq
	}
	return c.report
}

// VerifyOptions anchor a verification.
type VerifyOptions struct {
	// PublicKey checks the signed heads and the checkpoint; nil leaves the
	// verification unanchored.
	PublicKey ed25519.PublicKey
	// MoreKeys are further trusted keys: the collectors of a fleet that
	// write one shared store may each sign with their own.
	MoreKeys []ed25519.PublicKey
	// Expect are heads the chain must reach and match (signed heads kept
	// elsewhere); none: the running store's own head, or none offline. On
	// a shared store they are heads of the store's own chain.
	Expect []Link
}

func (o VerifyOptions) keyring() Keyring {
	if o.PublicKey == nil {
		return nil
	}
	return NewKeyring(append([]ed25519.PublicKey{o.PublicKey}, o.MoreKeys...)...)
}

// Verify walks the whole chain from the checkpoint (on a shared store every
// chain), checking it against the store's own key (when it has one) and
// its in-memory head, which catches a cut tail.
func (s *Store) Verify(ctx context.Context) (Report, error) {
	opts := VerifyOptions{}
	if s.signer != nil {
		opts.PublicKey = s.signer.PublicKey()
	}
	return s.verify(ctx, opts, true)
}

// VerifyWith verifies a database offline, with what the auditor trusts:
// public keys and a head kept elsewhere.
func (s *Store) VerifyWith(ctx context.Context, opts VerifyOptions) (Report, error) {
	return s.verify(ctx, opts, false)
}

func (s *Store) verify(ctx context.Context, opts VerifyOptions, ownHead bool) (Report, error) {
	// Take the snapshot and the head together: no append commits in between.
	s.mu.Lock()
	head := Link{Seq: s.headSeq, Hash: s.headHash}
	tx, err := s.begin(ctx, true)
	if err != nil {
		s.mu.Unlock()
		return Report{}, err
	}
	defer func() { _ = tx.Rollback() }()
	_, err = s.checkpoint(ctx, tx) // the first read fixes the snapshot
	s.mu.Unlock()
	if err != nil {
		return Report{}, err
	}
	expect := map[string][]Link{s.chain: opts.Expect}
	if ownHead {
		expect[s.chain] = append(expect[s.chain], head)
	}
	if !s.pg {
		return verifyChain(ctx, tx, "", opts.keyring(), expect[""])
	}
	return verifyFleet(ctx, tx, opts.keyring(), expect)
}

// verifyChain walks one chain from its checkpoint.
func verifyChain(ctx context.Context, tx txn, name string, keys Keyring, expect []Link) (Report, error) {
	cp, err := chainCheckpoint(ctx, tx, name)
	if err != nil {
		return Report{}, err
	}
	chain := NewChain(cp)
	chain.report.Chain = name
	if keys != nil {
		heads, err := signedHeads(ctx, tx, name)
		if err != nil {
			return Report{}, err
		}
		if !chain.AnchorKeys(keys, name, heads) {
			return chain.Finish(), nil
		}
	}
	for _, l := range expect {
		chain.Expect(l)
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+linkColumns+` FROM records WHERE chain = ? ORDER BY seq`, name)
	if err != nil {
		return Report{}, fmt.Errorf("reading the chain: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		l, err := scanLink(rows)
		if err != nil {
			return Report{}, fmt.Errorf("reading the chain: %w", err)
		}
		if !chain.Next(l.seq, l.storedMS, l.prevHash, l.hash, l.record, &l.cols) {
			break
		}
	}
	if err := rows.Err(); err != nil {
		return Report{}, fmt.Errorf("reading the chain: %w", err)
	}
	return chain.Finish(), nil
}

// signedHeads reads every signed head, oldest first.
func signedHeads(ctx context.Context, tx txn, chain string) ([]SignedHead, error) {
	rows, err := tx.QueryContext(ctx, `SELECT statement, signature FROM signed_heads WHERE chain = ? ORDER BY id`, chain)
	if err != nil {
		return nil, fmt.Errorf("reading the signed heads: %w", err)
	}
	defer rows.Close()
	var out []SignedHead
	for rows.Next() {
		var statement, signature string
		if err := rows.Scan(&statement, &signature); err != nil {
			return nil, fmt.Errorf("reading the signed heads: %w", err)
		}
		out = append(out, SignedHead{Statement: json.RawMessage(statement), Signature: signature})
	}
	return out, rows.Err()
}

// decodeJSON decodes one JSON value, numbers as json.Number.
func decodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("more than one JSON value")
	}
	return v, nil
}

// mapGetter reads string fields of a decoded record.
// ColumnsOfMap is ColumnsOf a decoded record.
func ColumnsOfMap(m map[string]any) (Columns, error) { return ColumnsOf(mapGetter(m), mapNumber(m)) }

// mapNumber reads a number of a decoded record (json.Number, or a Go
// number in a record built in memory).
func mapNumber(m map[string]any) Number {
	return func(path ...string) (float64, bool) {
		var v any = m
		for _, k := range path {
			obj, ok := v.(map[string]any)
			if !ok {
				return 0, false
			}
			v = obj[k]
		}
		switch n := v.(type) {
		case json.Number:
			f, err := n.Float64()
			return f, err == nil
		case float64:
			return n, true
		case int:
			return float64(n), true
		case int64:
			return float64(n), true
		}
		return 0, false
	}
}

func mapGetter(m map[string]any) Getter {
	return func(path ...string) string {
		var v any = m
		for _, k := range path {
			obj, ok := v.(map[string]any)
			if !ok {
				return ""
			}
			v = obj[k]
		}
		s, _ := v.(string)
		return s
	}
}
