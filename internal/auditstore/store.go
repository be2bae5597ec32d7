package auditstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // the pure-Go SQLite driver, registered as "sqlite"
)

// Store is an open audit database. Appends are serialised (they extend one
// chain); queries run concurrently with them (WAL).
type Store struct {
	db  *sql.DB
	now func() time.Time

	mu       sync.Mutex // guards the chain head and serialises writers
	headSeq  int64
	headHash string
	storedMS int64 // stored_ms of the head, so it never decreases
}

// Option configures a Store.
type Option func(*Store)

// WithClock replaces time.Now (tests of retention).
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// Open opens (creating if needed) the database at path.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "cache_size(-65536)") // 64 MiB of pages, so hot index pages stay cached
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "wal_autocheckpoint(16384)") // checkpoint (and fsync) every 64 MiB of WAL, not every 4 MiB
	q.Add("_pragma", "foreign_keys(ON)")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	s := &Store{db: db, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	if _, err := db.ExecContext(ctx, schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("creating the schema in %s: %w", path, err)
	}
	if err := s.loadHead(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

// loadHead reads the last link of the chain: the last row, else the
// checkpoint, else genesis.
func (s *Store) loadHead(ctx context.Context) error {
	err := s.db.QueryRowContext(ctx, `SELECT seq, hash, stored_ms FROM records ORDER BY seq DESC LIMIT 1`).Scan(&s.headSeq, &s.headHash, &s.storedMS)
	if err == nil {
		return nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("reading the chain head: %w", err)
	}
	cp, err := s.checkpoint(ctx, s.db)
	if err != nil {
		return err
	}
	s.headSeq, s.headHash = cp.Seq, cp.Hash
	return nil
}

// Link is a position in the chain.
type Link struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
}

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// checkpoint is the last purged link, or genesis when nothing was purged.
func (s *Store) checkpoint(ctx context.Context, q queryer) (Link, error) {
	var cp Link
	err := q.QueryRowContext(ctx, `SELECT seq, hash FROM checkpoint WHERE id = 1`).Scan(&cp.Seq, &cp.Hash)
	if errors.Is(err, sql.ErrNoRows) {
		return Link{Seq: 0, Hash: genesisHash}, nil
	}
	if err != nil {
		return Link{}, fmt.Errorf("reading the checkpoint: %w", err)
	}
	return cp, nil
}

// Head is the last link of the chain.
func (s *Store) Head() Link {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Link{Seq: s.headSeq, Hash: s.headHash}
}

const insertColumns = `INSERT INTO records (seq, event_id, event_kind, created_ms, stored_ms, correlation_id, user,
	decision, effective_decision, policy_id, policy_version, rollout_mode, model, project_id, reason_code, action,
	record, prev_hash, hash) VALUES `

const (
	columnsPerRow = 19
	rowsPerInsert = 100 // one statement per 100 rows: far fewer round trips into SQLite
	idsPerLookup  = 500
)

// Append stores entries in one transaction, extending the chain. An entry
// whose event_id is already stored (or repeated in the batch) is skipped: a
// replayed record is stored once. It returns how many were stored and how
// many were duplicates.
func (s *Store) Append(ctx context.Context, entries []Entry) (stored, duplicates int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()

	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, 0, fmt.Errorf("beginning a transaction: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()

	fresh, err := s.withoutStored(ctx, tx, entries)
	if err != nil {
		return 0, 0, err
	}
	duplicates = len(entries) - len(fresh)

	seq, prev := s.headSeq, s.headHash
	storedMS := max(s.now().UnixMilli(), s.storedMS)
	args := make([]any, 0, rowsPerInsert*columnsPerRow)
	for start := 0; start < len(fresh); start += rowsPerInsert {
		chunk := fresh[start:min(start+rowsPerInsert, len(fresh))]
		args = args[:0]
		for _, e := range chunk {
			hash := chainHash(prev, e.Record)
			seq++
			args = append(args, seq, e.EventID, e.EventKind, e.CreatedMS, storedMS, e.CorrelationID, e.User,
				e.Decision, e.EffectiveDecision, e.PolicyID, e.PolicyVersion, e.RolloutMode, e.Model, e.ProjectID,
				e.ReasonCode, e.Action, string(e.Record), prev, hash)
			prev = hash
		}
		if _, err = tx.ExecContext(ctx, insertStatement(len(chunk)), args...); err != nil {
			return 0, 0, fmt.Errorf("storing records from event %s: %w", chunk[0].EventID, err)
		}
	}
	if err = tx.Commit(); err != nil {
		return 0, 0, fmt.Errorf("committing %d records: %w", len(fresh), err)
	}
	s.headSeq, s.headHash, s.storedMS = seq, prev, storedMS
	return len(fresh), duplicates, nil
}

// withoutStored drops the entries whose event_id is stored already or comes
// earlier in the batch. Appends are serialised, so nothing can be stored
// between this lookup and the insert.
func (s *Store) withoutStored(ctx context.Context, tx *sql.Tx, entries []Entry) ([]*Entry, error) {
	seen := make(map[string]bool, len(entries))
	for start := 0; start < len(entries); start += idsPerLookup {
		chunk := entries[start:min(start+idsPerLookup, len(entries))]
		args := make([]any, len(chunk))
		for i := range chunk {
			args[i] = chunk[i].EventID
		}
		rows, err := tx.QueryContext(ctx, `SELECT event_id FROM records WHERE event_id IN (`+placeholders(len(chunk))+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("looking up stored event IDs: %w", err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, err
			}
			seen[id] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	fresh := make([]*Entry, 0, len(entries))
	for i := range entries {
		if !seen[entries[i].EventID] {
			seen[entries[i].EventID] = true
			fresh = append(fresh, &entries[i])
		}
	}
	return fresh, nil
}

var insertStatements sync.Map // rows -> SQL text

func insertStatement(rows int) string {
	if q, ok := insertStatements.Load(rows); ok {
		return q.(string)
	}
	row := "(" + placeholders(columnsPerRow) + ")"
	var b strings.Builder
	b.WriteString(insertColumns)
	for i := 0; i < rows; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(row)
	}
	insertStatements.Store(rows, b.String())
	return b.String()
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

// Purge removes the records stored before cutoff (a prefix of the chain) and
// moves the checkpoint to the last removed link, in one transaction.
func (s *Store) Purge(ctx context.Context, cutoff time.Time) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer func() { _ = tx.Rollback() }()
	var last Link
	err = tx.QueryRowContext(ctx, `SELECT seq, hash FROM records WHERE stored_ms < ? ORDER BY seq DESC LIMIT 1`, cutoff.UnixMilli()).Scan(&last.Seq, &last.Hash)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("finding records to purge: %w", err)
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM records WHERE seq <= ?`, last.Seq)
	if err != nil {
		return 0, fmt.Errorf("purging records up to seq %d: %w", last.Seq, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO checkpoint (id, seq, hash) VALUES (1, ?, ?)
		ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash`, last.Seq, last.Hash); err != nil {
		return 0, fmt.Errorf("moving the checkpoint to seq %d: %w", last.Seq, err)
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	return n, nil
}
