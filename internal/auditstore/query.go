// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package auditstore

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Filter selects records. Empty fields do not filter.
type Filter struct {
	EventKind         string
	CorrelationID     string
	User              string
	Decision          string
	EffectiveDecision string
	PolicyID          string
	PolicyVersion     string
	RolloutMode       string
	Model             string
	ProjectID         string
	Since, Until      time.Time // created_at in [Since, Until)
	Limit             int
	Cursor            string // from a previous page's NextCursor
}

// Row is a stored record with its place in the chain.
type Row struct {
	// Chain names the record's chain in a shared store (a SQLite file's
	// one chain has none): with Seq, its place.
	Chain    string          `json:"chain,omitempty"`
	Seq      int64           `json:"seq"`
	StoredMS int64           `json:"stored_ms"`
	PrevHash string          `json:"prev_hash"`
	Hash     string          `json:"hash"`
	Record   json.RawMessage `json:"record"`
}

// conditions are the SQL conditions of f's fields and time range (not its
// cursor), and their arguments.
func (f Filter) conditions(pg bool) ([]string, []any) {
	var where []string
	var args []any
	eq := func(col, v string) {
		if v != "" {
			where = append(where, col+" = ?")
			args = append(args, v)
		}
	}
	// With a selective filter, keep SQLite off the (event_kind, time) index:
	// "+" makes a column unusable for an index, so the planner picks the
	// correlation, user or version index instead of walking every record of
	// a kind in time order.
	// (PostgreSQL's planner weighs the indexes by their statistics.)
	if !pg && (f.CorrelationID != "" || f.User != "" || f.PolicyVersion != "") {
		eq("+event_kind", f.EventKind)
	} else {
		eq("event_kind", f.EventKind)
	}
	eq("correlation_id", f.CorrelationID)
	eq(`"user"`, f.User)
	eq("decision", f.Decision)
	eq("effective_decision", f.EffectiveDecision)
	eq("policy_id", f.PolicyID)
	eq("policy_version", f.PolicyVersion)
	eq("rollout_mode", f.RolloutMode)
	eq("model", f.Model)
	eq("project_id", f.ProjectID)
	if !f.Since.IsZero() {
		where = append(where, "created_ms >= ?")
		args = append(args, f.Since.UnixMilli())
	}
	if !f.Until.IsZero() {
		where = append(where, "created_ms < ?")
		args = append(args, f.Until.UnixMilli())
	}
	return where, args
}

// ErrBadCursor is returned for a cursor this store did not produce.
var ErrBadCursor = errors.New("not a cursor from a previous page")

// Query returns records newest first (by created_at, then chain and seq) and
// the cursor of the next page, "" on the last one.
func (s *Store) Query(ctx context.Context, f Filter) ([]Row, string, error) {
	where, args := f.conditions(s.pg)
	if f.Cursor != "" {
		ms, chain, seq, err := decodeCursor(f.Cursor)
		if err != nil {
			return nil, "", err
		}
		if s.pg {
			where = append(where, "(created_ms < ? OR (created_ms = ? AND (chain < ? OR (chain = ? AND seq < ?))))")
			args = append(args, ms, ms, chain, chain, seq)
		} else {
			where = append(where, "(created_ms < ? OR (created_ms = ? AND seq < ?))")
			args = append(args, ms, ms, seq)
		}
	}
	q := `SELECT chain, seq, created_ms, stored_ms, record, prev_hash, hash FROM records`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	// A SQLite file's records are all of chain "": its indexes order by
	// (created_ms, seq), and a chain in the ORDER BY would add a sort.
	if s.pg {
		q += " ORDER BY created_ms DESC, chain DESC, seq DESC LIMIT ?"
	} else {
		q += " ORDER BY created_ms DESC, seq DESC LIMIT ?"
	}
	args = append(args, f.Limit+1)

	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, "", fmt.Errorf("querying records: %w", err)
	}
	defer rows.Close()
	out := make([]Row, 0, f.Limit)
	var lastMS int64
	next := ""
	for rows.Next() {
		var r Row
		var ms int64
		var record string
		if err := rows.Scan(&r.Chain, &r.Seq, &ms, &r.StoredMS, &record, &r.PrevHash, &r.Hash); err != nil {
			return nil, "", fmt.Errorf("reading records: %w", err)
		}
		if len(out) == f.Limit {
			last := out[len(out)-1]
			next = encodeCursor(lastMS, last.Chain, last.Seq)
			break
		}
		r.Record = json.RawMessage(record)
		out = append(out, r)
		lastMS = ms
	}
	return out, next, rows.Err()
}

// A cursor is "created_ms:seq", and ":chain" after it on a shared store.
func encodeCursor(ms int64, chain string, seq int64) string {
	c := strconv.FormatInt(ms, 10) + ":" + strconv.FormatInt(seq, 10)
	if chain != "" {
		c += ":" + chain
	}
	return base64.RawURLEncoding.EncodeToString([]byte(c))
}

func decodeCursor(c string) (ms int64, chain string, seq int64, err error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, "", 0, ErrBadCursor
	}
	parts := strings.SplitN(string(b), ":", 3)
	if len(parts) < 2 {
		return 0, "", 0, ErrBadCursor
	}
	ms, err1 := strconv.ParseInt(parts[0], 10, 64)
	seq, err2 := strconv.ParseInt(parts[1], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, "", 0, ErrBadCursor
	}
	if len(parts) == 3 {
		chain = parts[2]
	}
	return ms, chain, seq, nil
}

// Get returns the record with event_id, or false.
func (s *Store) Get(ctx context.Context, eventID string) (Row, bool, error) {
	var r Row
	var record string
	err := s.db.QueryRowContext(ctx, `SELECT chain, seq, stored_ms, record, prev_hash, hash FROM records WHERE event_id = ?`, eventID).Scan(&r.Chain, &r.Seq, &r.StoredMS, &record, &r.PrevHash, &r.Hash)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return Row{}, false, nil
		}
		return Row{}, false, fmt.Errorf("reading event %s: %w", eventID, err)
	}
	r.Record = json.RawMessage(record)
	return r, true, nil
}

// Stats counts policy decisions created since a time, by the dimensions a
// dashboard shows.
type Stats struct {
	Total         int64            `json:"total"`
	Decision      map[string]int64 `json:"decision"`
	ReasonCode    map[string]int64 `json:"reason_code"`
	RolloutMode   map[string]int64 `json:"rollout_mode"`
	PolicyVersion map[string]int64 `json:"policy_version"`
}

// Stats of policy decisions created at or after since.
func (s *Store) Stats(ctx context.Context, since time.Time) (Stats, error) {
	st := Stats{}
	tx, err := s.begin(ctx, true) // one snapshot for every count
	if err != nil {
		return st, err
	}
	defer func() { _ = tx.Rollback() }()
	for _, d := range []struct {
		col string
		dst *map[string]int64
	}{
		{"decision", &st.Decision}, {"reason_code", &st.ReasonCode},
		{"rollout_mode", &st.RolloutMode}, {"policy_version", &st.PolicyVersion},
	} {
		rows, err := tx.QueryContext(ctx, `SELECT `+d.col+`, COUNT(*) FROM records
			WHERE event_kind = 'policy_decision' AND created_ms >= ? GROUP BY `+d.col, since.UnixMilli())
		if err != nil {
			return st, fmt.Errorf("counting by %s: %w", d.col, err)
		}
		m := map[string]int64{}
		var total int64
		for rows.Next() {
			var k string
			var n int64
			if err := rows.Scan(&k, &n); err != nil {
				rows.Close()
				return st, err
			}
			m[k] = n
			total += n
		}
		rows.Close()
		*d.dst = m
		st.Total = total
	}
	return st, nil
}

// Walk calls fn for every stored link in chain order (chain by chain on a
// shared store).
func (s *Store) Walk(ctx context.Context, fn func(Row) error) error {
	order := "seq" // a SQLite file's one chain: its primary key's order, no sort
	if s.pg {
		order = "chain, seq"
	}
	rows, err := s.db.QueryContext(ctx, `SELECT chain, seq, stored_ms, record, prev_hash, hash FROM records ORDER BY `+order)
	if err != nil {
		return fmt.Errorf("reading the chain: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r Row
		var record string
		if err := rows.Scan(&r.Chain, &r.Seq, &r.StoredMS, &record, &r.PrevHash, &r.Hash); err != nil {
			return fmt.Errorf("reading the chain: %w", err)
		}
		r.Record = json.RawMessage(record)
		if err := fn(r); err != nil {
			return err
		}
	}
	return rows.Err()
}
