// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package auditconsole

import (
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/policyaudit/policyaudit/internal/auditapi"
	store "github.com/policyaudit/policyaudit/internal/auditstore"
	"github.com/policyaudit/policyaudit/internal/record"
	"github.com/policyaudit/policyaudit/internal/usagereport"
)

// usagePage is the usage of the decisions of a range, per day and project.
type usagePage struct {
	Since, Until string // YYYY-MM-DD, the last day included
	Days         []usageDay
}

type usageDay struct {
	Date string
	Rows []usageRow
}

type usageRow struct {
	Project, DeniedShare, Cost string
	Decisions, Denied, Tokens  int64
}

// usageDays is the page's default span.
const usageDays = 7

// usage: the decisions of each day of the range (by created_at, UTC) per
// project: how many, the share denied, tokens and cost (records.md, usage).
// Without since and until, the week up to the newest decision.
func (c *Console) usage(w http.ResponseWriter, r *http.Request) {
	p := auditapi.NewParams(r, "since", "until")
	since, until := p.Time("since"), p.Time("until")
	if p.Problems() != "" {
		renderProblem(w, http.StatusBadRequest, "Usage", p.Problems())
		return
	}
	if until.IsZero() {
		until = c.api.Now()
		if rows, _, err := c.store.Query(r.Context(), store.Filter{EventKind: record.EventKindDecision, Limit: 1}); err == nil && len(rows) == 1 {
			if t, err := time.Parse(time.RFC3339Nano, rows[0].Fields()(record.FieldCreatedAt)); err == nil {
				until = t
			}
		}
		until = until.UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
	}
	if since.IsZero() {
		since = until.Add(-usageDays * 24 * time.Hour)
	}
	if !until.After(since) {
		renderProblem(w, http.StatusBadRequest, "Usage", "until: must be after since")
		return
	}
	reports := map[string]*usagereport.Report{}
	sn, err := c.store.Snapshot(r.Context())
	if err != nil {
		renderProblem(w, http.StatusInternalServerError, "Usage", err.Error())
		return
	}
	defer sn.Close()
	err = sn.UsageCreated(r.Context(), since, until, "project", true, func(g store.UsageGroup) error {
		rep, ok := reports[g.Day]
		if !ok {
			rep, _ = usagereport.New("project")
			reports[g.Day] = rep
		}
		rep.Add(g)
		return nil
	})
	if err != nil {
		renderProblem(w, http.StatusInternalServerError, "Usage", err.Error())
		return
	}
	page := usagePage{Since: since.UTC().Format(time.DateOnly), Until: until.Add(-time.Nanosecond).UTC().Format(time.DateOnly)}
	for day, rep := range reports {
		d := usageDay{Date: day}
		for _, row := range rep.Rows() {
			d.Rows = append(d.Rows, usageRow{Project: orNone(row.Key), Decisions: row.Decisions, Denied: row.Denied,
				DeniedShare: strconv.FormatFloat(100*row.DeniedShare, 'f', 1, 64) + "%", Tokens: row.TotalTokens,
				Cost: usagereport.CostText(row)})
		}
		page.Days = append(page.Days, d)
	}
	sort.Slice(page.Days, func(i, j int) bool { return page.Days[i].Date > page.Days[j].Date })
	renderFragment(w, http.StatusOK, "usage", page)
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
