// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package auditstore

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// usageTrail appends decisions with and without usage: two projects, one
// cost in USD, one with no currency, one decision with no usage at all.
func usageTrail(t *testing.T, st *Store) {
	usage := func(in, out int64, cost any, currency string) map[string]any {
		u := map[string]any{"input_tokens": in, "output_tokens": out, "total_tokens": in + out}
		if cost != nil {
			u["cost"] = cost
		}
		if currency != "" {
			u["currency"] = currency
		}
		return u
	}
	entries := []Entry{
		decisionEntry(t, 1, map[string]any{"project_id": "a", "usage": usage(100, 20, 0.25, "USD")}),
		decisionEntry(t, 2, map[string]any{"project_id": "a", "usage": usage(50, 5, 0.125, "USD"), "effective_decision": "deny"}),
		decisionEntry(t, 3, map[string]any{"project_id": "a", "usage": usage(10, 1, nil, "")}),
		decisionEntry(t, 4, map[string]any{"project_id": "b", "usage": usage(7, 3, int64(2), "")}),
		decisionEntry(t, 5, map[string]any{"project_id": "b"}),
		adminEntry(t, 6, t0),
	}
	_, _, err := st.Append(context.Background(), entries)
	require.NoError(t, err)
}

func usageByProject(t *testing.T, st *Store) []UsageGroup {
	sn, err := st.Snapshot(context.Background())
	require.NoError(t, err)
	defer sn.Close()
	var out []UsageGroup
	require.NoError(t, sn.UsageCreated(context.Background(), t0, t0.Add(time.Hour), "project", false, func(g UsageGroup) error {
		out = append(out, g)
		return nil
	}))
	return out
}

var wantUsage = []UsageGroup{
	{Key: "a", Currency: "", Decisions: 1, InputTokens: 10, OutputTokens: 1, TotalTokens: 11},
	{Key: "a", Currency: "USD", Decisions: 2, Denied: 1, InputTokens: 150, OutputTokens: 25, TotalTokens: 175, Cost: 0.375, HasCost: true},
	{Key: "b", Currency: "", Decisions: 2, InputTokens: 7, OutputTokens: 3, TotalTokens: 10, Cost: 2, HasCost: true},
}

// Usage is added up in SQL from columns verification checks against the
// record: a changed column is named.
func TestUsageIsAddedUpFromColumnsVerificationChecks(t *testing.T) {
	st, path := open(t)
	usageTrail(t, st)
	assert.Equal(t, wantUsage, usageByProject(t, st))
	rep, err := st.Verify(context.Background())
	require.NoError(t, err)
	require.True(t, rep.OK, rep.Problem)

	db, err := sql.Open("sqlite", "file:"+path)
	require.NoError(t, err)
	defer db.Close()
	_, err = db.Exec(`UPDATE records SET cost = 0.01 WHERE seq = 1`)
	require.NoError(t, err)
	rep, err = st.Verify(context.Background())
	require.NoError(t, err)
	assert.False(t, rep.OK)
	assert.Contains(t, rep.Problem, "an indexed column no longer matches the record")
}

// A file written before usage had columns gets them, filled from its
// records, when a newer collector opens it; it still verifies.
func TestAStoreWrittenBeforeUsageColumnsIsFilledWhenOpened(t *testing.T) {
	st, path := open(t)
	usageTrail(t, st)
	require.NoError(t, st.Close())
	db, err := sql.Open("sqlite", "file:"+path)
	require.NoError(t, err)
	for _, col := range []string{"input_tokens", "output_tokens", "total_tokens", "cost", "currency"} {
		_, err = db.Exec(`ALTER TABLE records DROP COLUMN ` + col)
		require.NoError(t, err)
	}
	require.NoError(t, db.Close())

	st, err = Open(context.Background(), path)
	require.NoError(t, err)
	defer st.Close()
	assert.Equal(t, wantUsage, usageByProject(t, st))
	rep, err := st.Verify(context.Background())
	require.NoError(t, err)
	assert.True(t, rep.OK, rep.Problem)
}

func TestASharedStoreWrittenBeforeUsageColumnsIsFilledWhenOpened(t *testing.T) {
	dsn := sharedDSN(t)
	st := openShared(t, dsn, "a")
	usageTrail(t, st)
	assert.Equal(t, wantUsage, usageByProject(t, st))
	require.NoError(t, st.Close())
	pgExec(t, dsn, `ALTER TABLE records DROP COLUMN input_tokens, DROP COLUMN output_tokens, DROP COLUMN total_tokens, DROP COLUMN cost, DROP COLUMN currency`)

	st = openShared(t, dsn, "a")
	assert.Equal(t, wantUsage, usageByProject(t, st))
	rep, err := st.Verify(context.Background())
	require.NoError(t, err)
	assert.True(t, rep.OK, rep.Problem)
}
