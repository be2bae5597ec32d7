// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package auditstore

import (
	"context"
	"crypto/tls"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// A shared store is one PostgreSQL database that every collector of a
// fleet appends to. Each writer appends to a chain of its own, named by its
// identity, so writers never wait on one another's head; the chains table
// registers every chain and fences each to one process at a time, and a
// signed registry (registry.go) names every chain and its newest head, so a
// deleted chain or a cut tail is noticed. docs/records.md ("A fleet's
// shared store") gives the design and what it proves.
const postgresSchema = `
CREATE TABLE IF NOT EXISTS chain_format (
	id      INTEGER PRIMARY KEY CHECK (id = 1),
	version INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS chains (
	chain      TEXT PRIMARY KEY,
	epoch      BIGINT NOT NULL,
	created_ms BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS records (
	chain              TEXT NOT NULL,
	seq                BIGINT NOT NULL,
	event_id           TEXT NOT NULL UNIQUE,
	event_kind         TEXT NOT NULL,
	created_ms         BIGINT NOT NULL,
	stored_ms          BIGINT NOT NULL,
	correlation_id     TEXT NOT NULL,
	"user"             TEXT NOT NULL,
	decision           TEXT NOT NULL,
	effective_decision TEXT NOT NULL,
	policy_id          TEXT NOT NULL,
	policy_version     TEXT NOT NULL,
	rollout_mode       TEXT NOT NULL,
	model              TEXT NOT NULL,
	project_id         TEXT NOT NULL,
	reason_code        TEXT NOT NULL,
	action             TEXT NOT NULL,
	record             TEXT NOT NULL,
	prev_hash          TEXT NOT NULL,
	hash               TEXT NOT NULL,
	PRIMARY KEY (chain, seq)
);
CREATE INDEX IF NOT EXISTS records_kind_time_verdict ON records (event_kind, created_ms, chain, seq)
	INCLUDE (policy_id, decision, effective_decision, rollout_mode);
CREATE INDEX IF NOT EXISTS records_correlation ON records (correlation_id, created_ms);
CREATE INDEX IF NOT EXISTS records_version     ON records (policy_version, created_ms);
CREATE INDEX IF NOT EXISTS records_user        ON records ("user", created_ms);
CREATE TABLE IF NOT EXISTS checkpoint (
	chain     TEXT PRIMARY KEY,
	seq       BIGINT NOT NULL,
	hash      TEXT NOT NULL,
	stored_ms BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS signed_heads (
	id        BIGSERIAL PRIMARY KEY,
	chain     TEXT NOT NULL,
	seq       BIGINT NOT NULL,
	statement TEXT NOT NULL,
	signature TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS signed_heads_chain ON signed_heads (chain, id);
CREATE TABLE IF NOT EXISTS registry_heads (
	id        BIGSERIAL PRIMARY KEY,
	signed_ms BIGINT NOT NULL,
	statement TEXT NOT NULL,
	signature TEXT NOT NULL
);
`

// PostgresConfig opens a shared store.
type PostgresConfig struct {
	// DSN is a libpq connection string or URL; its sslmode says how TLS is
	// used unless TLS is set.
	DSN string
	// Chain is this writer's identity: the chain it appends to. Empty
	// opens the store to read and verify only.
	Chain string
	// MaxConns bounds the pool (default 4).
	MaxConns int
	// TLS replaces the DSN's TLS settings when set.
	TLS *tls.Config
}

// ErrFenced is returned by Append and SignHead of a writer whose chain
// another process opened since: only the newest opener appends to a chain,
// so two processes with one identity cannot fork it.
var ErrFenced = errors.New("fenced")

// OpenPostgres opens a shared store: with a chain, creating the schema if
// needed and taking the chain (fencing any earlier process that holds it);
// without one, to read and verify only.
func OpenPostgres(ctx context.Context, cfg PostgresConfig, opts ...Option) (*Store, error) {
	pcfg, err := pgx.ParseConfig(cfg.DSN)
	if err != nil {
		return nil, fmt.Errorf("the PostgreSQL DSN: %w", err)
	}
	if cfg.TLS != nil {
		pcfg.TLSConfig, pcfg.Fallbacks = cfg.TLS, nil
	}
	// pgx prepares each statement once per connection; after five runs
	// PostgreSQL may switch to a generic plan, which for the event_id lookup
	// (IN with 500 parameters) is a sequential scan: appends of 8,192
	// records fell from 26,800 to 1,900 a second (BenchmarkAppendPostgres).
	// A plan per execution costs far less than one bad plan.
	pcfg.RuntimeParams["plan_cache_mode"] = "force_custom_plan"
	// A pooled connection is pinged before each use (pgx pings only those
	// idle for a second): after the server restarted, a broken connection is
	// replaced instead of failing the next query or append.
	db := stdlib.OpenDB(*pcfg, stdlib.OptionShouldPing(func(context.Context, stdlib.ShouldPingParams) bool { return true }))
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = maxConnections
	}
	db.SetMaxOpenConns(cfg.MaxConns)
	db.SetMaxIdleConns(cfg.MaxConns)
	s := &Store{now: time.Now, synchronous: SyncFull, pg: true, chain: cfg.Chain}
	for _, o := range opts {
		o(s)
	}
	s.sqlDB, s.db = db, conn{c: db, pg: true}
	if err := s.openShared(ctx, cfg.Chain == ""); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

func (s *Store) openShared(ctx context.Context, readOnly bool) error {
	if readOnly {
		var version int
		if err := s.db.QueryRowContext(ctx, `SELECT version FROM chain_format WHERE id = 1`).Scan(&version); err != nil {
			return fmt.Errorf("not a policyaudit store (reading its chain format): %w", err)
		}
		if version != chainFormat {
			return fmt.Errorf("the store holds chains of format %d; this version reads format %d", version, chainFormat)
		}
		return nil
	}
	if err := s.createSharedSchema(ctx); err != nil {
		return err
	}
	if err := s.takeChain(ctx); err != nil {
		return err
	}
	if err := s.openChain(ctx); err != nil {
		return err
	}
	if s.signer != nil {
		// Register the chain at once: from now on a signed registry names
		// it, so deleting it is noticed.
		tx, err := s.begin(ctx, false)
		if err != nil {
			return err
		}
		defer func() { _ = tx.Rollback() }()
		if err := s.signRegistry(ctx, tx); err != nil {
			return err
		}
		return tx.Commit()
	}
	return nil
}

// createSharedSchema creates the tables once: collectors starting together
// take an advisory lock, as concurrent CREATE IF NOT EXISTS can collide.
func (s *Store) createSharedSchema(ctx context.Context) error {
	tx, err := s.begin(ctx, false)
	if err != nil {
		return fmt.Errorf("connecting to PostgreSQL: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext('policyaudit.schema'))`); err != nil {
		return fmt.Errorf("locking the schema: %w", err)
	}
	if _, err := tx.ExecContext(ctx, postgresSchema+vaultSchema+vaultStatistics); err != nil {
		return fmt.Errorf("creating the schema: %w", err)
	}
	if err := s.addUsageColumns(ctx, tx); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO chain_format (id, version) VALUES (1, ?) ON CONFLICT (id) DO NOTHING`, chainFormat); err != nil {
		return fmt.Errorf("writing the chain format: %w", err)
	}
	var version int
	if err := tx.QueryRowContext(ctx, `SELECT version FROM chain_format WHERE id = 1`).Scan(&version); err != nil {
		return fmt.Errorf("reading the chain format: %w", err)
	}
	if version != chainFormat {
		return fmt.Errorf("the store holds chains of format %d; this version reads format %d", version, chainFormat)
	}
	return tx.Commit()
}

// takeChain registers the chain or, when it exists, takes its next epoch:
// the process that held it before is fenced from then on. It waits for an
// append of that process in flight to commit (the row lock), so the head
// read after it is the chain's last.
func (s *Store) takeChain(ctx context.Context) error {
	err := s.db.QueryRowContext(ctx, `INSERT INTO chains (chain, epoch, created_ms) VALUES (?, 1, ?)
		ON CONFLICT (chain) DO UPDATE SET epoch = chains.epoch + 1 RETURNING epoch`, s.chain, s.now().UnixMilli()).Scan(&s.epoch)
	if err != nil {
		return fmt.Errorf("taking chain %q: %w", s.chain, err)
	}
	return nil
}

// lockChain, on a shared store, locks the chain's row for the transaction,
// fails if another process took the chain since this one did, and reads the
// chain's head from the database (an earlier commit's outcome may be
// unknown). In a SQLite file appends are serialised by the store's mutex.
func (s *Store) lockChain(ctx context.Context, tx txn) error {
	if !s.pg {
		return nil
	}
	var epoch int64
	if err := tx.QueryRowContext(ctx, `SELECT epoch FROM chains WHERE chain = ? FOR UPDATE`, s.chain).Scan(&epoch); err != nil {
		return fmt.Errorf("locking chain %q (is it still registered?): %w", s.chain, err)
	}
	if epoch != s.epoch {
		return fmt.Errorf("%w: chain %q was opened by another process since this one (epoch %d, this one's %d); it appends and signs no more: give each collector its own chain", ErrFenced, s.chain, epoch, s.epoch)
	}
	err := tx.QueryRowContext(ctx, `SELECT seq, hash, stored_ms FROM records WHERE chain = ? ORDER BY seq DESC LIMIT 1`, s.chain).Scan(&s.headSeq, &s.headHash, &s.storedMS)
	if err == nil {
		return nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		// A failed read is not an empty chain: appending from the
		// checkpoint would collide with the chain's rows.
		return fmt.Errorf("reading the head of chain %q: %w", s.chain, err)
	}
	cp, cerr := s.checkpoint(ctx, tx)
	if cerr != nil {
		return cerr
	}
	s.headSeq, s.headHash, s.storedMS = cp.Seq, cp.Hash, cp.StoredMS
	return nil
}

// chainNames are the chains of the store: registered, or holding records.
func (s *Store) chainNames(ctx context.Context) ([]string, error) {
	return chainNamesIn(ctx, s.db)
}

func chainNamesIn(ctx context.Context, q queryer) ([]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT chain FROM chains UNION SELECT DISTINCT chain FROM records ORDER BY 1`)
	if err != nil {
		return nil, fmt.Errorf("listing the chains: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// isUniqueViolation: PostgreSQL refused a row whose unique key is stored.
func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}

// Chain is the chain the store appends to ("" in a SQLite file).
func (s *Store) Chain() string { return s.chain }

// Shared reports whether the store is a fleet's shared store.
func (s *Store) Shared() bool { return s.pg }
