// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package auditstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base32"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/policyaudit/policyaudit/internal/record"
)

// The token vault maps a person to the random token their records carry
// (the processor's PII action tokenize). A row holds the lookup (the hex
// HMAC-SHA256 of the value under the vault key, which the store never
// sees: the caller computes it) and the token; the value itself is never
// stored. Deleting the row (Forget) is erasure: every copy of every record,
// wherever it was exported, keeps a token that nothing ties to anyone.
//
// Both engines share the table and its statements; on PostgreSQL it is the
// fleet's one vault, so every collector gives a person the same token.
const vaultSchema = `
CREATE TABLE IF NOT EXISTS vault (
	lookup     TEXT PRIMARY KEY,
	token      TEXT NOT NULL UNIQUE,
	created_ms BIGINT NOT NULL
);
`

// vaultStatistics keeps PostgreSQL's planner statistics off the vault's
// columns: ANALYZE (autovacuum's included) would copy sampled lookups and
// tokens into pg_statistic, a catalog the store cannot rewrite after an
// erasure. Equality lookups on the unique indexes need no histogram.
const vaultStatistics = `
ALTER TABLE vault ALTER COLUMN lookup SET STATISTICS 0, ALTER COLUMN token SET STATISTICS 0;
`

var tokenEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// newToken is a fresh random token: not derived from the value by any key.
func newToken() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return record.TokenPrefix + strings.ToLower(tokenEncoding.EncodeToString(b[:])), nil
}

// vaultBatch bounds the lookups of one statement (SQLite's default limit
// of bound parameters is 32,766; three per inserted row).
const vaultBatch = 500

// Tokens returns the token of each lookup, in order, minting a random one
// for each lookup the vault lacks. A minted token is committed (and, on
// SQLite with synchronous full, on the disk) before Tokens returns, so a
// record carrying it is never acknowledged with its mapping lost. Two
// callers minting for one lookup at once (two pipelines, two collectors on
// one PostgreSQL) get the same token: the first insert wins and both read it.
func (s *Store) Tokens(ctx context.Context, lookups []string) ([]string, error) {
	found := make(map[string]string, len(lookups))
	var missing []string
	for i := 0; i < len(lookups); i += vaultBatch {
		chunk := uniqueMissing(lookups[i:min(i+vaultBatch, len(lookups))], found)
		if err := s.readTokens(ctx, chunk, found); err != nil {
			return nil, err
		}
		for _, l := range chunk {
			if _, ok := found[l]; !ok {
				missing = append(missing, l)
			}
		}
	}
	for i := 0; i < len(missing); i += vaultBatch {
		chunk := missing[i:min(i+vaultBatch, len(missing))]
		if err := s.mintTokens(ctx, chunk); err != nil {
			return nil, err
		}
		if err := s.readTokens(ctx, chunk, found); err != nil {
			return nil, err
		}
	}
	out := make([]string, len(lookups))
	for i, l := range lookups {
		t, ok := found[l]
		if !ok {
			return nil, fmt.Errorf("the vault has no token for a lookup just written (erased meanwhile?)")
		}
		out[i] = t
	}
	return out, nil
}

// uniqueMissing is the lookups of chunk not in found, once each.
func uniqueMissing(chunk []string, found map[string]string) []string {
	out := make([]string, 0, len(chunk))
	seen := make(map[string]bool, len(chunk))
	for _, l := range chunk {
		if _, ok := found[l]; !ok && !seen[l] {
			seen[l] = true
			out = append(out, l)
		}
	}
	return out
}

func (s *Store) readTokens(ctx context.Context, lookups []string, into map[string]string) error {
	if len(lookups) == 0 {
		return nil
	}
	args := make([]any, len(lookups))
	for i, l := range lookups {
		args[i] = l
	}
	rows, err := s.db.QueryContext(ctx, `SELECT lookup, token FROM vault WHERE lookup IN (`+placeholders(len(lookups))+`)`, args...)
	if err != nil {
		return fmt.Errorf("reading the vault: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var l, t string
		if err := rows.Scan(&l, &t); err != nil {
			return fmt.Errorf("reading the vault: %w", err)
		}
		into[l] = t
	}
	return rows.Err()
}

// mintTokens inserts a fresh token for each lookup; a lookup another
// writer inserted meanwhile keeps that writer's token.
func (s *Store) mintTokens(ctx context.Context, lookups []string) error {
	// In one order for every writer: two PostgreSQL transactions inserting
	// the same keys in different orders would deadlock.
	lookups = slices.Sorted(slices.Values(lookups))
	var b strings.Builder
	b.WriteString(`INSERT INTO vault (lookup, token, created_ms) VALUES `)
	args := make([]any, 0, 3*len(lookups))
	ms := s.now().UnixMilli()
	for i, l := range lookups {
		t, err := newToken()
		if err != nil {
			return fmt.Errorf("minting a token: %w", err)
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?, ?)")
		args = append(args, l, t, ms)
	}
	b.WriteString(` ON CONFLICT (lookup) DO NOTHING`)
	if _, err := s.db.ExecContext(ctx, b.String(), args...); err != nil {
		return fmt.Errorf("writing the vault: %w", err)
	}
	return nil
}

// Token is the token of lookup, without minting one; false when the vault
// has none (never tokenised, or erased).
func (s *Store) Token(ctx context.Context, lookup string) (string, bool, error) {
	found := map[string]string{}
	if err := s.readTokens(ctx, []string{lookup}, found); err != nil {
		return "", false, err
	}
	t, ok := found[lookup]
	return t, ok, nil
}

// VaultSize is the number of tokens in the vault.
func (s *Store) VaultSize(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM vault`).Scan(&n)
	return n, err
}

// Forget deletes lookup's vault entry and returns its token (false when
// there was none), then removes what the database engine keeps of the
// deleted row: on SQLite (which zeroes deleted content: secure_delete is
// on for every connection) it copies the write-ahead log into the file and
// truncates it; on PostgreSQL it rewrites the vault table (VACUUM FULL,
// which locks it for the fleet while it runs: a small table, quickly), so
// no dead tuple keeps the lookup (and no statistic ever held one).
// PostgreSQL's own WAL segments, its server log (with statement logging on)
// and any backup keep the row until they are recycled (docs/privacy.md).
func (s *Store) Forget(ctx context.Context, lookup string) (string, bool, error) {
	var token string
	err := s.db.QueryRowContext(ctx, `DELETE FROM vault WHERE lookup = ? RETURNING token`, lookup).Scan(&token)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("deleting the vault entry: %w", err)
	}
	return token, true, s.scrub(ctx)
}

// scrub removes the engine's copies of deleted rows (Forget).
func (s *Store) scrub(ctx context.Context) error {
	if s.pg {
		return s.rewriteVault(ctx)
	}
	// A checkpoint cannot truncate the log while a reader holds a snapshot
	// in it: retry for a while (queries are short).
	deadline := time.Now().Add(30 * time.Second)
	for {
		var busy, logFrames, checkpointed int
		err := s.db.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logFrames, &checkpointed)
		if err != nil {
			return fmt.Errorf("checkpointing the write-ahead log: %w", err)
		}
		if busy == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New("checkpointing the write-ahead log: readers kept it busy for 30s; the deleted entry stays in the log until the next checkpoint")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// rewriteVault rewrites the PostgreSQL vault table and its indexes into new
// files (VACUUM FULL; the vault's columns keep no statistics: see
// vaultStatistics). PostgreSQL only warns when a role that does not own the
// table asks, so the table's file is checked to have changed.
func (s *Store) rewriteVault(ctx context.Context) error {
	var before, after int64
	if err := s.db.QueryRowContext(ctx, `SELECT pg_relation_filenode('vault')`).Scan(&before); err != nil {
		return fmt.Errorf("reading the vault's file: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, `VACUUM FULL vault`); err != nil {
		return fmt.Errorf("vacuuming the vault: %w", err)
	}
	if err := s.db.QueryRowContext(ctx, `SELECT pg_relation_filenode('vault')`).Scan(&after); err != nil {
		return fmt.Errorf("reading the vault's file: %w", err)
	}
	if after == before {
		return errors.New("VACUUM FULL did not rewrite the vault table (the database role is not its owner?): the deleted entry stays in its file until it is rewritten")
	}
	return nil
}

// HeldTokens reports which of tokens the vault holds: a value in a token's
// form that the vault did not mint is a value like any other.
func (s *Store) HeldTokens(ctx context.Context, tokens []string) (map[string]bool, error) {
	held := make(map[string]bool, len(tokens))
	for i := 0; i < len(tokens); i += vaultBatch {
		chunk := tokens[i:min(i+vaultBatch, len(tokens))]
		args := make([]any, len(chunk))
		for j, t := range chunk {
			args[j] = t
		}
		rows, err := s.db.QueryContext(ctx, `SELECT token FROM vault WHERE token IN (`+placeholders(len(chunk))+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("reading the vault: %w", err)
		}
		for rows.Next() {
			var t string
			if err := rows.Scan(&t); err != nil {
				rows.Close()
				return nil, err
			}
			held[t] = true
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, err
		}
	}
	return held, nil
}
