// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

// Package usagereport adds up the usage of policy decisions (records.md,
// usage) by project, user, model or policy, for chargeback: `policyaudit
// report usage` and the console's usage page.
package usagereport // import "github.com/policyaudit/policyaudit/internal/usagereport"

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/policyaudit/policyaudit/internal/auditstore"
)

// Row is one group's usage. Costs are per currency ("" for costs a
// gateway gave without one: Kong's are in the unit of its configured
// prices).
type Row struct {
	Key          string             `json:"key"`
	Decisions    int64              `json:"decisions"`
	Denied       int64              `json:"denied"`
	DeniedShare  float64            `json:"denied_share"`
	InputTokens  int64              `json:"input_tokens"`
	OutputTokens int64              `json:"output_tokens"`
	TotalTokens  int64              `json:"total_tokens"`
	Costs        map[string]float64 `json:"costs"`
}

// Report adds up the store's groups (auditstore.UsageCreated: one per key
// and currency) into a row per key.
type Report struct {
	rows map[string]*Row
}

// New is a report by dim (project, user, model or policy).
func New(dim string) (*Report, error) {
	if _, ok := auditstore.UsageDimensions[dim]; !ok {
		return nil, fmt.Errorf("%q is not one of project, user, model, policy", dim)
	}
	return &Report{rows: map[string]*Row{}}, nil
}

// Add counts one group of decisions.
func (r *Report) Add(g auditstore.UsageGroup) {
	row, ok := r.rows[g.Key]
	if !ok {
		row = &Row{Key: g.Key, Costs: map[string]float64{}}
		r.rows[g.Key] = row
	}
	row.Decisions += g.Decisions
	row.Denied += g.Denied
	row.InputTokens += g.InputTokens
	row.OutputTokens += g.OutputTokens
	row.TotalTokens += g.TotalTokens
	if g.HasCost {
		row.Costs[g.Currency] += g.Cost
	}
}

// Rows are the groups by key, shares rounded to 4 places and costs to 6.
func (r *Report) Rows() []Row {
	out := make([]Row, 0, len(r.rows))
	for _, row := range r.rows {
		rr := *row
		if rr.Decisions > 0 {
			rr.DeniedShare = round(float64(rr.Denied)/float64(rr.Decisions), 4)
		}
		rr.Costs = make(map[string]float64, len(row.Costs))
		for c, v := range row.Costs {
			rr.Costs[c] = round(v, 6)
		}
		out = append(out, rr)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

func round(f float64, places int) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(f, 'f', places, 64), 64)
	return v
}

// currencies are the currencies of rows' costs, sorted ("" first).
func currencies(rows []Row) []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range rows {
		for c := range r.Costs {
			if !seen[c] {
				seen[c] = true
				out = append(out, c)
			}
		}
	}
	sort.Strings(out)
	return out
}

// CSV writes rows with a header, dim naming the key column, and a cost
// column per currency (cost_USD; cost for costs without one).
func CSV(dim string, rows []Row) []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	curs := currencies(rows)
	header := []string{dim, "decisions", "denied", "denied_share", "input_tokens", "output_tokens", "total_tokens"}
	for _, c := range curs {
		header = append(header, strings.TrimSuffix("cost_"+c, "_"))
	}
	_ = w.Write(header)
	for _, r := range rows {
		line := []string{r.Key, strconv.FormatInt(r.Decisions, 10), strconv.FormatInt(r.Denied, 10),
			strconv.FormatFloat(r.DeniedShare, 'f', -1, 64), strconv.FormatInt(r.InputTokens, 10), strconv.FormatInt(r.OutputTokens, 10),
			strconv.FormatInt(r.TotalTokens, 10)}
		for _, c := range curs {
			line = append(line, strconv.FormatFloat(r.Costs[c], 'f', -1, 64))
		}
		_ = w.Write(line)
	}
	w.Flush()
	return b.Bytes()
}

// CostText is a row's costs for a reader: "0.3000 USD", several joined.
func CostText(r Row) string {
	var parts []string
	for _, c := range currencies([]Row{r}) {
		unit := c
		if unit == "" {
			unit = "(no currency)"
		}
		parts = append(parts, strconv.FormatFloat(r.Costs[c], 'f', 4, 64)+" "+unit)
	}
	return strings.Join(parts, "; ")
}
