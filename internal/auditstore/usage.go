// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package auditstore

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"time"

	"github.com/policyaudit/policyaudit/internal/record"
)

// A decision's usage (records.md, usage) is kept in columns of its row as
// well as in the record, so chargeback adds it up in SQL over the
// (event_kind, created_ms) index without decoding a record; verification
// checks the columns against the record like the others. cost is NULL when
// the record gives none, so "no cost" is not a cost of 0.
func usageColumnsDDL(pg bool) []string {
	integer := "INTEGER" // 64 bits in SQLite
	if pg {
		integer = "BIGINT"
	}
	return []string{`input_tokens ` + integer + ` NOT NULL DEFAULT 0`, `output_tokens ` + integer + ` NOT NULL DEFAULT 0`,
		`total_tokens ` + integer + ` NOT NULL DEFAULT 0`, `cost DOUBLE PRECISION`, `currency TEXT NOT NULL DEFAULT ''`}
}

// Number reads a numeric field of a canonical record by path; false if
// absent or not a number.
type Number func(path ...string) (float64, bool)

// usageColumns fills c's usage from the record.
func usageColumns(c *Columns, num Number, get Getter) {
	tokens := func(member string) int64 {
		v, ok := num(record.FieldUsage, member)
		if !ok || v != math.Trunc(v) || math.Abs(v) > 1<<53 {
			return 0
		}
		return int64(v)
	}
	c.InputTokens, c.OutputTokens, c.TotalTokens = tokens(record.UsageInputTokens), tokens(record.UsageOutputTokens), tokens(record.UsageTotalTokens)
	c.Cost, c.HasCost = num(record.FieldUsage, record.UsageCost)
	c.Currency = get(record.FieldUsage, record.UsageCurrency)
}

// addUsageColumns upgrades a store written before usage had columns, and
// fills them from the records (one UPDATE; verification then finds them
// matching). tx is the schema's transaction on PostgreSQL, nil on SQLite.
func (s *Store) addUsageColumns(ctx context.Context, q interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) error {
	var n int
	exists := `SELECT COUNT(*) FROM pragma_table_info('records') WHERE name = 'input_tokens'`
	if s.pg {
		exists = `SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'records' AND column_name = 'input_tokens'`
	}
	if err := q.QueryRowContext(ctx, exists).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	for _, col := range usageColumnsDDL(s.pg) {
		if _, err := q.ExecContext(ctx, `ALTER TABLE records ADD COLUMN `+col); err != nil {
			return fmt.Errorf("adding the usage columns: %w", err)
		}
	}
	fill := `UPDATE records SET
		input_tokens = CASE json_type(record, '$.usage.input_tokens') WHEN 'integer' THEN json_extract(record, '$.usage.input_tokens') ELSE 0 END,
		output_tokens = CASE json_type(record, '$.usage.output_tokens') WHEN 'integer' THEN json_extract(record, '$.usage.output_tokens') ELSE 0 END,
		total_tokens = CASE json_type(record, '$.usage.total_tokens') WHEN 'integer' THEN json_extract(record, '$.usage.total_tokens') ELSE 0 END,
		cost = CASE WHEN json_type(record, '$.usage.cost') IN ('integer', 'real') THEN CAST(json_extract(record, '$.usage.cost') AS REAL) END,
		currency = CASE json_type(record, '$.usage.currency') WHEN 'text' THEN json_extract(record, '$.usage.currency') ELSE '' END
		WHERE json_type(record, '$.usage') = 'object'`
	if s.pg {
		fill = `UPDATE records SET
		input_tokens = CASE WHEN jsonb_typeof(record::jsonb #> '{usage,input_tokens}') = 'number' THEN (record::jsonb #>> '{usage,input_tokens}')::numeric::bigint ELSE 0 END,
		output_tokens = CASE WHEN jsonb_typeof(record::jsonb #> '{usage,output_tokens}') = 'number' THEN (record::jsonb #>> '{usage,output_tokens}')::numeric::bigint ELSE 0 END,
		total_tokens = CASE WHEN jsonb_typeof(record::jsonb #> '{usage,total_tokens}') = 'number' THEN (record::jsonb #>> '{usage,total_tokens}')::numeric::bigint ELSE 0 END,
		cost = CASE WHEN jsonb_typeof(record::jsonb #> '{usage,cost}') = 'number' THEN (record::jsonb #>> '{usage,cost}')::double precision END,
		currency = CASE WHEN jsonb_typeof(record::jsonb #> '{usage,currency}') = 'string' THEN record::jsonb #>> '{usage,currency}' ELSE '' END
		WHERE jsonb_typeof(record::jsonb -> 'usage') = 'object'`
	}
	if _, err := q.ExecContext(ctx, fill); err != nil {
		return fmt.Errorf("filling the usage columns: %w", err)
	}
	return nil
}

// UsageDimensions are the columns a usage report groups by.
var UsageDimensions = map[string]string{"project": "project_id", "user": `"user"`, "model": "model", "policy": "policy_id"}

// UsageGroup is the usage of the decisions of one group and currency.
type UsageGroup struct {
	Key      string
	Day      string // YYYY-MM-DD (UTC) when grouped by day
	Currency string
	// Decisions and Denied (effective verdict deny) count decisions.
	Decisions, Denied                      int64
	InputTokens, OutputTokens, TotalTokens int64
	Cost                                   float64
	HasCost                                bool // some decision of the group gave a cost
}

// UsageCreated adds up, in SQL, the usage of the decisions created in
// [from, to) by dim (a key of UsageDimensions), per currency, and per UTC
// day when byDay is set.
func (sn *Snapshot) UsageCreated(ctx context.Context, from, to time.Time, dim string, byDay bool, fn func(UsageGroup) error) error {
	col, ok := UsageDimensions[dim]
	if !ok {
		return fmt.Errorf("%q is not one of project, user, model, policy", dim)
	}
	day := "0"
	if byDay {
		day = "created_ms / 86400000"
	}
	rows, err := sn.tx.QueryContext(ctx, `SELECT `+col+`, `+day+`, currency, COUNT(*),
		SUM(CASE WHEN effective_decision = 'deny' THEN 1 ELSE 0 END),
		SUM(input_tokens), SUM(output_tokens), SUM(total_tokens), SUM(cost), COUNT(cost)
		FROM records WHERE event_kind = 'policy_decision' AND created_ms >= ? AND created_ms < ?
		GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`, from.UnixMilli(), to.UnixMilli())
	if err != nil {
		return fmt.Errorf("adding up the usage: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var g UsageGroup
		var dayNumber, costs int64
		var cost sql.NullFloat64
		if err := rows.Scan(&g.Key, &dayNumber, &g.Currency, &g.Decisions, &g.Denied, &g.InputTokens, &g.OutputTokens, &g.TotalTokens, &cost, &costs); err != nil {
			return fmt.Errorf("adding up the usage: %w", err)
		}
		g.Cost, g.HasCost = cost.Float64, costs > 0
		if byDay {
			g.Day = time.UnixMilli(dayNumber * 86400000).UTC().Format(time.DateOnly)
		}
		if err := fn(g); err != nil {
			return err
		}
	}
	return rows.Err()
}
