// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package auditstore

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"sync"
)

// The store's SQL is written once, with SQLite's "?" placeholders; on
// PostgreSQL the same text runs with them numbered ($1, $2, …). Nothing in
// the store's SQL holds a "?" inside a literal.

// sqlConn is what *sql.DB and *sql.Tx share.
type sqlConn interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// conn runs the store's SQL on a database or a transaction of either engine.
type conn struct {
	c  sqlConn
	pg bool
}

func (c conn) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return c.c.ExecContext(ctx, c.rebind(q), args...)
}

func (c conn) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return c.c.QueryContext(ctx, c.rebind(q), args...)
}

func (c conn) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return c.c.QueryRowContext(ctx, c.rebind(q), args...)
}

var rebound sync.Map // SQLite text -> PostgreSQL text

func (c conn) rebind(q string) string {
	if !c.pg || !strings.Contains(q, "?") {
		return q
	}
	if r, ok := rebound.Load(q); ok {
		return r.(string)
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	rebound.Store(q, b.String())
	return b.String()
}

// txn is a transaction with the store's SQL.
type txn struct {
	conn
	tx *sql.Tx
}

func (t txn) Commit() error   { return t.tx.Commit() }
func (t txn) Rollback() error { return t.tx.Rollback() }

// begin starts a transaction. A snapshot read (verification, counts, the
// links around a record) must see one state of the database across its
// statements: SQLite's deferred transactions do from their first read;
// PostgreSQL needs REPEATABLE READ for it.
func (s *Store) begin(ctx context.Context, snapshot bool) (txn, error) {
	var opts *sql.TxOptions
	if snapshot && s.pg {
		opts = &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}
	}
	tx, err := s.sqlDB.BeginTx(ctx, opts)
	if err != nil {
		return txn{}, err
	}
	return txn{conn: conn{c: tx, pg: s.pg}, tx: tx}, nil
}
