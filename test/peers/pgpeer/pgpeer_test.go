// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package pgpeer

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestServerSurvivesAnImmediateRestart(t *testing.T) {
	s := Start(t)
	dsn := s.CreateDatabase(t, "peer")
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err, s.Log())
	}
	if _, err := conn.Exec(ctx, `CREATE TABLE t (n int); INSERT INTO t VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	start := time.Now()
	if err := s.Restart("immediate"); err != nil {
		t.Fatal(err, s.Log())
	}
	t.Logf("pg_ctl restart -m immediate took %s", time.Since(start))
	conn, err = pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, `SELECT n FROM t`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("after the restart: n=%d, %v", n, err)
	}
}
