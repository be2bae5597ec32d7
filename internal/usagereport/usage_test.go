// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package usagereport

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/policyaudit/policyaudit/internal/auditstore"
)

func TestAGroupCountsOnceWhateverItsCurrencies(t *testing.T) {
	r, err := New("project")
	require.NoError(t, err)
	// The store's groups of four decisions: a key and currency each.
	for _, g := range []auditstore.UsageGroup{
		{Key: "a", Currency: "", Decisions: 1},
		{Key: "a", Currency: "EUR", Decisions: 1, InputTokens: 5, OutputTokens: 5, TotalTokens: 10, Cost: 1.25, HasCost: true},
		{Key: "a", Currency: "USD", Decisions: 1, Denied: 1, InputTokens: 10, TotalTokens: 10, Cost: 0.5, HasCost: true},
		{Key: "b", Currency: "", Decisions: 1, TotalTokens: 100, Cost: 0.0012, HasCost: true},
	} {
		r.Add(g)
	}
	rows := r.Rows()
	require.Len(t, rows, 2)
	assert.Equal(t, Row{Key: "a", Decisions: 3, Denied: 1, DeniedShare: 0.3333, InputTokens: 15, OutputTokens: 5, TotalTokens: 20,
		Costs: map[string]float64{"USD": 0.5, "EUR": 1.25}}, rows[0])
	assert.Equal(t, "project,decisions,denied,denied_share,input_tokens,output_tokens,total_tokens,cost,cost_EUR,cost_USD\n"+
		"a,3,1,0.3333,15,5,20,0,1.25,0.5\n"+
		"b,1,0,0,0,0,100,0.0012,0,0\n", string(CSV("project", rows)))
	assert.Equal(t, "1.2500 EUR; 0.5000 USD", CostText(rows[0]))
	assert.Equal(t, "0.0012 (no currency)", CostText(rows[1]))
	_, err = New("team")
	assert.ErrorContains(t, err, "not one of project, user, model, policy")
}
