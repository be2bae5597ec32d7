package auditstore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/policyaudit/policyaudit/internal/pdatajson"
)

// Report is the outcome of a verification.
type Report struct {
	OK         bool   `json:"ok"`
	Records    int64  `json:"records"`
	Checkpoint Link   `json:"checkpoint"`
	Head       Link   `json:"head"`
	FirstBad   int64  `json:"first_bad_seq,omitempty"`
	Problem    string `json:"problem,omitempty"`
}

// Chain checks links one by one; the database and exported JSON lines are
// both verified through it.
type Chain struct {
	report  Report
	prev    string
	nextSeq int64
}

// NewChain starts a verification at a checkpoint.
func NewChain(cp Link) *Chain {
	return &Chain{report: Report{OK: true, Checkpoint: cp, Head: cp}, prev: cp.Hash, nextSeq: cp.Seq + 1}
}

// Next checks the link at seq. It returns false at the first bad link; the
// report then names it.
func (c *Chain) Next(seq int64, prevHash, hash string, record []byte, cols *Columns) bool {
	if !c.report.OK {
		return false
	}
	fail := func(format string, args ...any) bool {
		c.report.OK = false
		c.report.FirstBad = seq
		c.report.Problem = fmt.Sprintf(format, args...)
		return false
	}
	switch {
	case seq != c.nextSeq:
		if seq > c.nextSeq {
			c.report.FirstBad = c.nextSeq
			c.report.OK = false
			c.report.Problem = fmt.Sprintf("seq %d is missing (the next record is seq %d): a record was deleted", c.nextSeq, seq)
			return false
		}
		return fail("seq %d follows seq %d: records were inserted or reordered", seq, c.nextSeq-1)
	case prevHash != c.prev:
		return fail("prev_hash does not match the hash of seq %d", seq-1)
	case chainHash(prevHash, record) != hash:
		return fail("hash does not match the record: the record or its hash was changed")
	}
	var obj map[string]any
	dec := json.NewDecoder(bytes.NewReader(record))
	dec.UseNumber()
	if err := dec.Decode(&obj); err != nil {
		return fail("the record is not JSON: %v", err)
	}
	canonical, err := pdatajson.AppendCanonicalAny(nil, obj)
	if err != nil || !bytes.Equal(canonical, record) {
		return fail("the record is not in the canonical encoding")
	}
	if cols != nil {
		want, err := ColumnsOf(mapGetter(obj))
		if err != nil {
			return fail("%v", err)
		}
		if want != *cols {
			return fail("an indexed column no longer matches the record")
		}
	}
	c.prev, c.nextSeq = hash, seq+1
	c.report.Records++
	c.report.Head = Link{Seq: seq, Hash: hash}
	return true
}

// Report is the verification's outcome so far.
func (c *Chain) Report() Report { return c.report }

// Verify walks the whole chain from the checkpoint and checks that it reaches
// the head this store wrote (a cut tail leaves a shorter chain that is
// otherwise intact).
func (s *Store) Verify(ctx context.Context) (Report, error) {
	return s.verify(ctx, nil)
}

// VerifyAgainst is Verify against a head known from elsewhere (logged by the
// exporter, returned by /api/v1/verify), for a file verified offline.
func (s *Store) VerifyAgainst(ctx context.Context, head Link) (Report, error) {
	return s.verify(ctx, &head)
}

func (s *Store) verify(ctx context.Context, want *Link) (Report, error) {
	// Take the snapshot and the head together: no append commits in between.
	s.mu.Lock()
	if want == nil {
		want = &Link{Seq: s.headSeq, Hash: s.headHash}
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		s.mu.Unlock()
		return Report{}, err
	}
	defer func() { _ = tx.Rollback() }()
	cp, err := s.checkpoint(ctx, tx) // the first read fixes the snapshot
	s.mu.Unlock()
	if err != nil {
		return Report{}, err
	}
	chain := NewChain(cp)
	rows, err := tx.QueryContext(ctx, `SELECT seq, event_id, event_kind, created_ms, correlation_id, user, decision,
		effective_decision, policy_id, policy_version, rollout_mode, model, project_id, reason_code, action,
		record, prev_hash, hash FROM records ORDER BY seq`)
	if err != nil {
		return Report{}, fmt.Errorf("reading the chain: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var seq int64
		var c Columns
		var record, prevHash, hash string
		if err := rows.Scan(&seq, &c.EventID, &c.EventKind, &c.CreatedMS, &c.CorrelationID, &c.User, &c.Decision,
			&c.EffectiveDecision, &c.PolicyID, &c.PolicyVersion, &c.RolloutMode, &c.Model, &c.ProjectID,
			&c.ReasonCode, &c.Action, &record, &prevHash, &hash); err != nil {
			return Report{}, fmt.Errorf("reading the chain: %w", err)
		}
		if !chain.Next(seq, prevHash, hash, []byte(record), &c) {
			break
		}
	}
	if err := rows.Err(); err != nil {
		return Report{}, fmt.Errorf("reading the chain: %w", err)
	}
	report := chain.Report()
	if report.OK {
		checkHead(&report, *want)
	}
	return report, nil
}

// mapGetter reads string fields of a decoded record.
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

// checkHead fails a chain that is intact but does not reach the known head.
func checkHead(r *Report, want Link) {
	switch {
	case r.Head.Seq < want.Seq:
		r.OK, r.FirstBad = false, r.Head.Seq+1
		r.Problem = fmt.Sprintf("the chain ends at seq %d before the expected head %d: records were deleted", r.Head.Seq, want.Seq)
	case r.Head.Seq == want.Seq && r.Head.Hash != want.Hash:
		r.OK, r.FirstBad = false, want.Seq
		r.Problem = "the head hash differs from the expected one: the chain was rewritten"
	}
}
