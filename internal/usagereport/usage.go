// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

// Package usagereport adds up the usage of policy decisions (records.md,
// usage) by project, user, model or policy, for chargeback: `policyaudit
// report usage` and the console's usage page.
package usagereport // import "github.com/policyaudit/policyaudit/internal/usagereport"

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"

	"github.com/policyaudit/policyaudit/internal/record"
)

// Dimensions a report groups by, and the field each reads.
var Dimensions = map[string]string{
	"project": record.FieldProjectID,
	"user":    record.FieldPolicyUser,
	"model":   record.FieldModel,
	"policy":  record.FieldPolicyID,
}

// Row is one group's usage in one currency (a group whose records give
// costs in two currencies has two rows; records without a cost are in the
// row of currency "").
type Row struct {
	Key          string  `json:"key"`
	Currency     string  `json:"currency"`
	Decisions    int64   `json:"decisions"`
	Denied       int64   `json:"denied"`
	DeniedShare  float64 `json:"denied_share"`
	InputTokens  int64   `json:"input_tokens"`
	OutputTokens int64   `json:"output_tokens"`
	TotalTokens  int64   `json:"total_tokens"`
	Cost         float64 `json:"cost"`
}

// Report adds decisions up by one dimension.
type Report struct {
	field string
	rows  map[[2]string]*Row
}

// New is a report by dim (a key of Dimensions).
func New(dim string) (*Report, error) {
	field, ok := Dimensions[dim]
	if !ok {
		return nil, fmt.Errorf("%q is not one of project, user, model, policy", dim)
	}
	return &Report{field: field, rows: map[[2]string]*Row{}}, nil
}

// Add counts one canonical decision.
func (r *Report) Add(raw []byte) error {
	var rec struct {
		EffectiveDecision string         `json:"effective_decision"`
		Usage             map[string]any `json:"usage"`
	}
	var fields map[string]any
	if err := json.Unmarshal(raw, &fields); err != nil {
		return err
	}
	if err := json.Unmarshal(raw, &rec); err != nil {
		return err
	}
	key, _ := fields[r.field].(string)
	currency, _ := rec.Usage[record.UsageCurrency].(string)
	if _, hasCost := rec.Usage[record.UsageCost]; !hasCost {
		currency = ""
	}
	row, ok := r.rows[[2]string{key, currency}]
	if !ok {
		row = &Row{Key: key, Currency: currency}
		r.rows[[2]string{key, currency}] = row
	}
	row.Decisions++
	if rec.EffectiveDecision == record.DecisionDeny {
		row.Denied++
	}
	row.InputTokens += whole(rec.Usage[record.UsageInputTokens])
	row.OutputTokens += whole(rec.Usage[record.UsageOutputTokens])
	row.TotalTokens += whole(rec.Usage[record.UsageTotalTokens])
	if c, ok := rec.Usage[record.UsageCost].(float64); ok {
		row.Cost += c
	}
	return nil
}

func whole(v any) int64 {
	f, _ := v.(float64)
	return int64(f)
}

// Rows are the groups, by key then currency, shares and costs rounded
// (shares to 4 places, costs to 6).
func (r *Report) Rows() []Row {
	out := make([]Row, 0, len(r.rows))
	for _, row := range r.rows {
		rr := *row
		if rr.Decisions > 0 {
			rr.DeniedShare = round(float64(rr.Denied)/float64(rr.Decisions), 4)
		}
		rr.Cost = round(rr.Cost, 6)
		out = append(out, rr)
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Key < out[j].Key || out[i].Key == out[j].Key && out[i].Currency < out[j].Currency
	})
	return out
}

func round(f float64, places int) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(f, 'f', places, 64), 64)
	return v
}

// CSV writes rows with a header, dim naming the key column.
func CSV(dim string, rows []Row) []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write([]string{dim, "currency", "decisions", "denied", "denied_share", "input_tokens", "output_tokens", "total_tokens", "cost"})
	for _, r := range rows {
		_ = w.Write([]string{r.Key, r.Currency, strconv.FormatInt(r.Decisions, 10), strconv.FormatInt(r.Denied, 10),
			strconv.FormatFloat(r.DeniedShare, 'f', -1, 64), strconv.FormatInt(r.InputTokens, 10), strconv.FormatInt(r.OutputTokens, 10),
			strconv.FormatInt(r.TotalTokens, 10), strconv.FormatFloat(r.Cost, 'f', -1, 64)})
	}
	w.Flush()
	return b.Bytes()
}
