// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package auditstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // the pure-Go SQLite driver, registered as "sqlite"

	"github.com/policyaudit/policyaudit/internal/signing"
)

// Store is an open audit database. Appends are serialised (they extend one
// chain); queries run concurrently with them (WAL).
type Store struct {
	sqlDB *sql.DB
	db    conn // sqlDB with the store's SQL rebound for its engine
	pg    bool // PostgreSQL: a fleet's shared store, one chain per writer
	// chain names the chain this store appends to: "" in a SQLite file (its
	// only chain); on PostgreSQL the writer's identity (Open's chain).
	chain string
	// epoch fences the chain: taken at open, checked by every append under
	// the chain's row lock. A second process opening the same chain takes
	// the next epoch, and this one can no longer append to it.
	epoch  int64
	now    func() time.Time
	signer *signing.Signer // nil: heads are not signed
	// signEvery signs the head after this many new records (0: never for
	// that reason).
	signEvery int64

	synchronous string

	mu         sync.Mutex // guards the chain head and serialises writers
	headSeq    int64
	headHash   string
	storedMS   int64 // stored_ms of the head, so it never decreases
	signedSeq  int64 // seq of the last signed head
	lastSigned *SignedHead
	// vouchedFrom is the first seq this process appended: its signatures
	// vouch for the records from there on, never for those it found.
	vouchedFrom int64
	startCheck  StartCheck
}

// Option configures a Store.
type Option func(*Store)

// WithClock replaces time.Now (tests of retention).
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// maxConnections bounds the pool: one writer at a time in WAL mode, and a
// few readers for the query API; each holds its own page cache.
const maxConnections = 4

// Synchronous modes of the database (SQLite's PRAGMA synchronous in WAL
// mode): with SyncNormal a committed append survives the process being
// killed, but the last commits can be lost to a power cut or a kernel crash;
// with SyncFull every commit is on the disk before Append returns.
const (
	SyncNormal = "normal"
	SyncFull   = "full"
)

// WithSynchronous sets the synchronous mode (SyncFull by default).
func WithSynchronous(mode string) Option { return func(s *Store) { s.synchronous = mode } }

// WithSigner signs heads with signer: every everyRecords new records (0:
// not by count), at every retention checkpoint, and when SignHead is called.
func WithSigner(signer *signing.Signer, everyRecords int64) Option {
	return func(s *Store) { s.signer, s.signEvery = signer, everyRecords }
}

// Open opens (creating if needed) the database at path.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	// SQLite's page cache lives outside the Go heap (GOMEMLIMIT does not
	// see it), once per connection: 8 MiB each, at most maxConnections.
	q.Add("_pragma", "cache_size(-8192)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "wal_autocheckpoint(16384)") // checkpoint (and fsync) every 64 MiB of WAL, not every 4 MiB
	q.Add("_pragma", "foreign_keys(ON)")
	// Deleted content is overwritten with zeros, in the table and its
	// free pages: an erased vault entry (Forget) leaves nothing behind.
	q.Add("_pragma", "secure_delete(ON)")
	s := &Store{now: time.Now, synchronous: SyncFull}
	for _, o := range opts {
		o(s)
	}
	switch s.synchronous {
	case SyncFull:
		q.Add("_pragma", "synchronous(FULL)")
	case SyncNormal:
		q.Add("_pragma", "synchronous(NORMAL)")
	default:
		return nil, fmt.Errorf("synchronous %q: not %s or %s", s.synchronous, SyncNormal, SyncFull)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	db.SetMaxOpenConns(maxConnections)
	s.sqlDB, s.db = db, conn{c: db}
	if err := s.checkFormat(ctx, path); err != nil {
		db.Close()
		return nil, err
	}
	if err := s.openChain(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// openChain reads the chain's head and, with a key, checks what it found
// since its last signed head.
func (s *Store) openChain(ctx context.Context) error {
	if err := s.loadHead(ctx); err != nil {
		return err
	}
	if s.signer != nil {
		if err := s.checkAtStart(ctx); err != nil {
			return fmt.Errorf("checking the chain since its last signed head: %w", err)
		}
	}
	return nil
}

// Close closes the database.
func (s *Store) Close() error { return s.sqlDB.Close() }

// checkFormat refuses a database written in another chain format (its links
// hash differently); an empty one of format 1 is upgraded.
func (s *Store) checkFormat(ctx context.Context, path string) error {
	var tables int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN ('records', 'chain_format')`).Scan(&tables); err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	if tables == 1 { // records without chain_format: format 1
		var rows int64
		if err := s.db.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM records) + (SELECT COUNT(*) FROM checkpoint)`).Scan(&rows); err != nil {
			return fmt.Errorf("reading %s: %w", path, err)
		}
		if rows > 0 {
			return fmt.Errorf("%s holds a chain of format 1; this version reads format %d (verify or export it with the policyaudit that wrote it, and start a new file)", path, chainFormat)
		}
		if _, err := s.db.ExecContext(ctx, `DROP TABLE checkpoint`); err != nil {
			return fmt.Errorf("upgrading the empty %s: %w", path, err)
		}
	}
	if _, err := s.db.ExecContext(ctx, schema+vaultSchema); err != nil {
		return fmt.Errorf("creating the schema in %s: %w", path, err)
	}
	if err := s.addChainColumns(ctx); err != nil {
		return fmt.Errorf("upgrading %s: %w", path, err)
	}
	if err := s.addUsageColumns(ctx, s.db); err != nil {
		return fmt.Errorf("upgrading %s: %w", path, err)
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO chain_format (id, version) VALUES (1, ?) ON CONFLICT (id) DO NOTHING`, chainFormat); err != nil {
		return fmt.Errorf("writing the chain format of %s: %w", path, err)
	}
	var version int
	if err := s.db.QueryRowContext(ctx, `SELECT version FROM chain_format WHERE id = 1`).Scan(&version); err != nil {
		return fmt.Errorf("reading the chain format of %s: %w", path, err)
	}
	if version != chainFormat {
		return fmt.Errorf("%s holds a chain of format %d; this version reads format %d", path, version, chainFormat)
	}
	return nil
}

// addChainColumns upgrades a file written before chains had names: its
// one chain is the chain "" (a constant default: SQLite adds it without
// rewriting the table).
func (s *Store) addChainColumns(ctx context.Context) error {
	for _, table := range []string{"records", "checkpoint", "signed_heads"} {
		var n int
		if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM pragma_table_info(?) WHERE name = 'chain'`, table).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			if _, err := s.db.ExecContext(ctx, `ALTER TABLE `+table+` ADD COLUMN chain TEXT NOT NULL DEFAULT ''`); err != nil {
				return fmt.Errorf("adding the chain column to %s: %w", table, err)
			}
		}
	}
	return nil
}

// loadHead reads the last link of the chain (the last row, else the
// checkpoint, else the chain's genesis) and the last signed head.
func (s *Store) loadHead(ctx context.Context) error {
	return s.loadHeadFrom(ctx, s.db)
}

func (s *Store) loadHeadFrom(ctx context.Context, q queryer) error {
	err := q.QueryRowContext(ctx, `SELECT seq, hash, stored_ms FROM records WHERE chain = ? ORDER BY seq DESC LIMIT 1`, s.chain).Scan(&s.headSeq, &s.headHash, &s.storedMS)
	if errors.Is(err, sql.ErrNoRows) {
		var cp Checkpoint
		cp, err = s.checkpoint(ctx, q)
		s.headSeq, s.headHash, s.storedMS = cp.Seq, cp.Hash, cp.StoredMS
	}
	if err != nil {
		return fmt.Errorf("reading the chain head: %w", err)
	}
	var sh SignedHead
	var statement string
	err = q.QueryRowContext(ctx, `SELECT seq, statement, signature FROM signed_heads WHERE chain = ? ORDER BY id DESC LIMIT 1`, s.chain).Scan(&s.signedSeq, &statement, &sh.Signature)
	if errors.Is(err, sql.ErrNoRows) {
		s.signedSeq, s.lastSigned = 0, nil
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the last signed head: %w", err)
	}
	sh.Statement = json.RawMessage(statement)
	s.lastSigned = &sh
	return nil
}

// Link is a position in the chain.
type Link struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
}

// queryer is a conn or a txn.
type queryer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Checkpoint is the last purged link and when it was stored.
type Checkpoint struct {
	Link
	StoredMS int64 `json:"stored_ms"`
}

// checkpoint is the last purged link of the store's chain, or its genesis
// when nothing was purged.
func (s *Store) checkpoint(ctx context.Context, q queryer) (Checkpoint, error) {
	return chainCheckpoint(ctx, q, s.chain)
}

func chainCheckpoint(ctx context.Context, q queryer, chain string) (Checkpoint, error) {
	var cp Checkpoint
	err := q.QueryRowContext(ctx, `SELECT seq, hash, stored_ms FROM checkpoint WHERE chain = ?`, chain).Scan(&cp.Seq, &cp.Hash, &cp.StoredMS)
	if errors.Is(err, sql.ErrNoRows) {
		return Checkpoint{Link: Link{Seq: 0, Hash: genesisOf(chain)}}, nil
	}
	if err != nil {
		return Checkpoint{}, fmt.Errorf("reading the checkpoint: %w", err)
	}
	return cp, nil
}

// Head is the last link of the chain.
func (s *Store) Head() Link {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Link{Seq: s.headSeq, Hash: s.headHash}
}

const insertColumns = `INSERT INTO records (chain, seq, event_id, event_kind, created_ms, stored_ms, correlation_id, "user",
	decision, effective_decision, policy_id, policy_version, rollout_mode, model, project_id, reason_code, action,
	record, prev_hash, hash, input_tokens, output_tokens, total_tokens, cost, currency) VALUES `

const (
	columnsPerRow = 25
	rowsPerInsert = 100 // one statement per 100 rows: far fewer round trips into SQLite
	idsPerLookup  = 500
)

// Append stores entries in one transaction, extending the chain. An entry
// whose event_id is already stored (or repeated in the batch) is skipped: a
// replayed record is stored once, whichever writer of a fleet stored it. It
// returns how many were stored and how many were duplicates.
func (s *Store) Append(ctx context.Context, entries []Entry) (stored, duplicates int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for attempt := 1; ; attempt++ {
		stored, duplicates, err = s.appendOnce(ctx, entries)
		// On a shared store another writer can commit one of these
		// event_ids between the lookup and the insert: look again.
		if err == nil || !s.pg || attempt == maxAppendAttempts || !isUniqueViolation(err) {
			break
		}
	}
	if err != nil {
		return 0, 0, err
	}
	if s.signer != nil && s.signEvery > 0 && s.headSeq-s.signedSeq >= s.signEvery && s.headSeq >= s.vouchedFrom {
		if err := s.signHeadLocked(ctx, SignedForRecords); err != nil {
			// The records are stored: a retry stores nothing twice and
			// signs again.
			return stored, duplicates, fmt.Errorf("signing the head after storing %d records: %w", stored, err)
		}
	}
	return stored, duplicates, nil
}

const maxAppendAttempts = 3

func (s *Store) appendOnce(ctx context.Context, entries []Entry) (stored, duplicates int, err error) {
	tx, err := s.begin(ctx, false)
	if err != nil {
		return 0, 0, fmt.Errorf("beginning a transaction: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if err = s.lockChain(ctx, tx); err != nil {
		return 0, 0, err
	}
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
			seq++
			hash := linkHash(seq, storedMS, prev, e.Record)
			args = append(args, s.chain, seq, e.EventID, e.EventKind, e.CreatedMS, storedMS, e.CorrelationID, e.User,
				e.Decision, e.EffectiveDecision, e.PolicyID, e.PolicyVersion, e.RolloutMode, e.Model, e.ProjectID,
				e.ReasonCode, e.Action, string(e.Record), prev, hash, e.InputTokens, e.OutputTokens, e.TotalTokens,
				sql.NullFloat64{Float64: e.Cost, Valid: e.HasCost}, e.Currency)
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
// earlier in the batch. A SQLite file's appends are serialised, so nothing
// can be stored between this lookup and the insert; on a shared store
// another writer can, and the unique event_id makes the insert fail and
// Append look again.
func (s *Store) withoutStored(ctx context.Context, tx txn, entries []Entry) ([]*Entry, error) {
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
// moves the checkpoint to the last removed link, signed as a retention head
// when the store has a key, in one transaction. On a shared store it purges
// every chain, so the chains of writers that are gone age out too: each
// under its row lock, skipping one its writer holds at that moment.
func (s *Store) Purge(ctx context.Context, cutoff time.Time) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.pg {
		return s.purgeChain(ctx, s.chain, cutoff)
	}
	chains, err := s.chainNames(ctx)
	if err != nil {
		return 0, err
	}
	var total int64
	var errs []error
	for _, chain := range chains {
		n, err := s.purgeChain(ctx, chain, cutoff)
		total += n
		if err != nil {
			errs = append(errs, fmt.Errorf("chain %q: %w", chain, err))
		}
	}
	return total, errors.Join(errs...)
}

func (s *Store) purgeChain(ctx context.Context, chain string, cutoff time.Time) (int64, error) {
	tx, err := s.begin(ctx, false)
	if err != nil {
		return 0, err
	}
	defer func() { _ = tx.Rollback() }()
	if s.pg {
		var locked int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM chains WHERE chain = ? FOR UPDATE SKIP LOCKED`, chain).Scan(&locked)
		if errors.Is(err, sql.ErrNoRows) {
			return 0, nil // its writer is appending: the next round
		}
		if err != nil {
			return 0, fmt.Errorf("locking the chain: %w", err)
		}
	}
	var last Checkpoint
	err = tx.QueryRowContext(ctx, `SELECT seq, hash, stored_ms FROM records WHERE chain = ? AND stored_ms < ? ORDER BY seq DESC LIMIT 1`, chain, cutoff.UnixMilli()).Scan(&last.Seq, &last.Hash, &last.StoredMS)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("finding records to purge: %w", err)
	}
	// Only links that verify are purged: a stored_ms backdated on disk must
	// not make retention delete records, and what it deletes is vouched for
	// by the signed checkpoint from then on. With a key, the record it cuts
	// at must be one a signature vouched for, the links checked up to that
	// head: stored_ms is then the time it was appended, and every record
	// before it is older. Otherwise (an unsigned tail, a crash's unvouched
	// range, a rewrite, a chain another key signs) retention waits for a
	// record that is.
	through := last.Seq
	if s.signer != nil {
		h, ok, err := vouchingHead(ctx, tx, s.signer.PublicKey(), chain, last.Seq)
		if err != nil {
			return 0, fmt.Errorf("retention: %w", err)
		}
		if !ok {
			return 0, nil
		}
		through = h.Seq
	}
	if err := checkPrefix(ctx, tx, chain, through); err != nil {
		return 0, fmt.Errorf("retention refused: %w", err)
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM records WHERE chain = ? AND seq <= ?`, chain, last.Seq)
	if err != nil {
		return 0, fmt.Errorf("purging records up to seq %d: %w", last.Seq, err)
	}
	if _, err := tx.ExecContext(ctx, s.upsertCheckpoint(), chain, last.Seq, last.Hash, last.StoredMS); err != nil {
		return 0, fmt.Errorf("moving the checkpoint to seq %d: %w", last.Seq, err)
	}
	var signed *SignedHead
	if s.signer != nil {
		// A retention head vouches for no record; the appending process's
		// own heads do (on another writer's chain, nothing after it).
		vouchedFrom := last.Seq + 1
		if chain == s.chain {
			vouchedFrom = s.vouchedFrom
		}
		sh, _, err := signHead(s.signer, chain, last.Link, last.StoredMS, s.now(), SignedForRetention, cutoff.UnixMilli(), vouchedFrom)
		if err != nil {
			return 0, err
		}
		if err := insertSignedHead(ctx, tx, chain, last.Seq, sh); err != nil {
			return 0, err
		}
		signed = &sh
		// Heads of purged records vouch for nothing that is left.
		if _, err := tx.ExecContext(ctx, `DELETE FROM signed_heads WHERE chain = ? AND seq < ?`, chain, last.Seq); err != nil {
			return 0, fmt.Errorf("dropping the signed heads of purged records: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	if signed != nil && chain == s.chain && s.lastSigned == nil {
		s.lastSigned = signed
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// upsertCheckpoint moves a chain's checkpoint: a SQLite file has one row, a
// shared store one per chain.
func (s *Store) upsertCheckpoint() string {
	if s.pg {
		return `INSERT INTO checkpoint (chain, seq, hash, stored_ms) VALUES (?, ?, ?, ?)
		ON CONFLICT (chain) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, stored_ms = excluded.stored_ms`
	}
	return `INSERT INTO checkpoint (id, chain, seq, hash, stored_ms) VALUES (1, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET chain = excluded.chain, seq = excluded.seq, hash = excluded.hash, stored_ms = excluded.stored_ms`
}

// SignHead signs the current head (reason: why) unless it is signed already
// or this process appended nothing yet (it has nothing to vouch for).
// Without a signer it does nothing.
func (s *Store) SignHead(ctx context.Context, reason string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.signer == nil || s.headSeq < s.vouchedFrom || (s.lastSigned != nil && s.signedSeq == s.headSeq) {
		return nil
	}
	return s.signHeadLocked(ctx, reason)
}

// SignHeadNow signs the head even when it is signed already: a signature
// with a later time, which says that nothing was appended between the two
// (what an evidence bundle's closing head needs).
func (s *Store) SignHeadNow(ctx context.Context, reason string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.signer == nil || s.headSeq < s.vouchedFrom {
		return nil
	}
	return s.signHeadLocked(ctx, reason)
}

func (s *Store) signHeadLocked(ctx context.Context, reason string) error {
	tx, err := s.begin(ctx, false)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	// A fenced writer signs nothing: the chain's head is another's now.
	if err := s.lockChain(ctx, tx); err != nil {
		return err
	}
	sh, _, err := signHead(s.signer, s.chain, Link{Seq: s.headSeq, Hash: s.headHash}, s.storedMS, s.now(), reason, 0, s.vouchedFrom)
	if err != nil {
		return err
	}
	if err := insertSignedHead(ctx, tx, s.chain, s.headSeq, sh); err != nil {
		return err
	}
	if s.pg {
		if err := s.signRegistry(ctx, tx); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	s.signedSeq, s.lastSigned = s.headSeq, &sh
	return nil
}

func insertSignedHead(ctx context.Context, db queryer, chain string, seq int64, sh SignedHead) error {
	if _, err := db.ExecContext(ctx, `INSERT INTO signed_heads (chain, seq, statement, signature) VALUES (?, ?, ?, ?)`, chain, seq, string(sh.Statement), sh.Signature); err != nil {
		return fmt.Errorf("storing the signed head at seq %d: %w", seq, err)
	}
	return nil
}

// LastSignedHead is the newest signed head, or nil.
func (s *Store) LastSignedHead() *SignedHead {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastSigned
}

// Signer is the store's signer, or nil.
func (s *Store) Signer() *signing.Signer { return s.signer }

// checkPrefix verifies the links of a chain from its checkpoint up to seq.
func checkPrefix(ctx context.Context, tx txn, chain string, seq int64) error {
	cp, err := chainCheckpoint(ctx, tx, chain)
	if err != nil {
		return err
	}
	c := NewChain(cp)
	rows, err := tx.QueryContext(ctx, `SELECT seq, stored_ms, record, prev_hash, hash FROM records WHERE chain = ? AND seq <= ? ORDER BY seq`, chain, seq)
	if err != nil {
		return fmt.Errorf("reading the records to purge: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var n, storedMS int64
		var record, prevHash, hash string
		if err := rows.Scan(&n, &storedMS, &record, &prevHash, &hash); err != nil {
			return fmt.Errorf("reading the records to purge: %w", err)
		}
		if !c.Next(n, storedMS, prevHash, hash, []byte(record), nil) {
			rep := c.Finish()
			return fmt.Errorf("the chain is broken at seq %d: %s", rep.FirstBad, rep.Problem)
		}
	}
	return rows.Err()
}
