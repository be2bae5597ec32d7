// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package auditconsole

import (
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/policyaudit/policyaudit/internal/auditapi"
	store "github.com/policyaudit/policyaudit/internal/auditstore"
	"github.com/policyaudit/policyaudit/internal/record"
)

// timelineFilters are the timeline's filters, in its URL as in the JSON API.
var timelineFilters = []string{record.FieldPolicyID, record.FieldPolicyVersion, record.FieldProjectID, "user", record.FieldModel, record.FieldRolloutMode}

// maxMarkers caps the admin events drawn on one timeline.
const maxMarkers = 500

// defaultWindow is what the timeline shows without a range: the day of
// decisions up to the newest one.
const defaultWindow = 24 * time.Hour

type timelinePage struct {
	Filters   []filterField
	Since     string
	Until     string
	Step      string
	Empty     bool
	Chart     chart
	Totals    []verdictTotal
	Total     int64
	Markers   []markerRow
	MoreAdmin bool
	Ranges    []rangeLink
	Earlier   template.URL
	Later     template.URL
	SinceText string
	UntilText string
}

type filterField struct {
	Name, Label, Value string
	Options            []string
}

type verdictTotal struct {
	Verdict                   string
	Enforced, Observed, Total int64
}

type markerRow struct {
	EventID, Time, Actor, Action, Resource, Outcome, Policy string
	IsPolicy                                                bool
}

type rangeLink struct {
	Label string
	Href  template.URL
}

// timeline: the decisions of a range stacked by verdict per bucket, the
// admin events of the range as markers.
func (c *Console) timeline(w http.ResponseWriter, r *http.Request) {
	p := auditapi.NewParams(r, append([]string{"since", "until"}, timelineFilters...)...)
	f := store.Filter{
		PolicyID: p.Str(record.FieldPolicyID), PolicyVersion: p.Str(record.FieldPolicyVersion), ProjectID: p.Str(record.FieldProjectID),
		User: p.Str("user"), Model: p.Str(record.FieldModel), RolloutMode: p.Str(record.FieldRolloutMode),
		Since: p.Time("since"), Until: p.Time("until"),
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Until.After(f.Since) {
		p.Add("until: must be after since")
	}
	page := timelinePage{Filters: filterFields(p)}
	if p.Problems() != "" {
		renderProblem(w, http.StatusBadRequest, "Timeline", p.Problems())
		return
	}
	user, err := c.api.ResolveUser(r.Context(), f.User)
	if err != nil {
		renderProblem(w, http.StatusInternalServerError, "Timeline", err.Error())
		return
	}
	f.User = user
	newest, err := c.defaultRange(r, &f)
	if errors.Is(err, store.ErrNoDecisions) {
		page.Empty = true
		renderFragment(w, http.StatusOK, "timeline", page)
		return
	}
	if err != nil {
		renderProblem(w, http.StatusInternalServerError, "Timeline", err.Error())
		return
	}
	span := f.Until.Sub(f.Since)
	step := stepFor(span, maxBuckets)
	buckets, err := c.store.Timeline(r.Context(), f, step)
	if err != nil {
		renderProblem(w, http.StatusInternalServerError, "Timeline", err.Error())
		return
	}
	admin, next, err := c.store.Query(r.Context(), store.Filter{EventKind: record.EventKindAdmin, PolicyID: f.PolicyID, Since: f.Since, Until: f.Until, Limit: maxMarkers})
	if err != nil {
		renderProblem(w, http.StatusInternalServerError, "Timeline", err.Error())
		return
	}
	var markers []adminMarker
	for i := len(admin) - 1; i >= 0; i-- { // oldest first, as drawn
		row := adminRowOf(admin[i].Fields())
		page.Markers = append(page.Markers, row)
		at, _ := time.Parse(time.RFC3339Nano, row.Time)
		markers = append(markers, adminMarker{At: at, Time: row.Time, EventID: row.EventID, Action: row.Action, IsPolicy: row.IsPolicy,
			Title: row.Time + " " + row.Actor + " " + row.Action + " " + row.Resource + " (" + row.Outcome + ")"})
	}
	page.MoreAdmin = next != ""
	page.Chart = layoutChart(buckets, f.Since, f.Until, step, markers)
	page.Totals, page.Total = totalsOf(buckets)
	page.Since, page.Until = f.Since.Format(time.RFC3339), f.Until.Format(time.RFC3339)
	page.SinceText, page.UntilText = f.Since.Format("2006-01-02 15:04:05"), f.Until.Format("2006-01-02 15:04:05")
	page.Step = step.String()
	page.Ranges = rangeLinks(r.URL.Query(), newest)
	page.Earlier = shifted(r.URL.Query(), f.Since.Add(-span), f.Since)
	page.Later = shifted(r.URL.Query(), f.Until, f.Until.Add(span))
	renderFragment(w, http.StatusOK, "timeline", page)
}

// defaultRange completes f's range: without one, the day of decisions up to
// the newest, narrowed to where decisions are; with one end, a day from it.
// It returns the newest decision's time, for the range links.
func (c *Console) defaultRange(r *http.Request, f *store.Filter) (time.Time, error) {
	firstMS, lastMS, err := c.store.RecentSpan(r.Context(), defaultWindow.Milliseconds())
	if err != nil {
		return time.Time{}, err
	}
	newest := time.UnixMilli(lastMS).UTC()
	switch {
	case f.Since.IsZero() && f.Until.IsZero():
		first := time.UnixMilli(firstMS).UTC()
		step := stepFor(newest.Sub(first)+time.Millisecond, maxBuckets)
		f.Since = first.Truncate(step)
		f.Until = newest.Truncate(step).Add(step)
	case f.Since.IsZero():
		f.Since = f.Until.Add(-defaultWindow)
	case f.Until.IsZero():
		f.Until = f.Since.Add(defaultWindow)
	}
	f.Since, f.Until = f.Since.UTC(), f.Until.UTC()
	return newest, nil
}

// adminRowOf is an admin event as the console lists and marks it.
func adminRowOf(get store.Getter) markerRow {
	action, kind := get(record.FieldAction), get(record.FieldResource, record.SubfieldType)
	return markerRow{
		EventID: get(record.FieldEventID), Time: get(record.FieldCreatedAt), Actor: get(record.FieldActor, record.SubfieldID),
		Action: action, Resource: strings.TrimSpace(kind + " " + get(record.FieldResource, record.SubfieldID)), Outcome: get(record.FieldOutcome),
		Policy:   strings.TrimSpace(get(record.FieldPolicyID) + " " + get(record.FieldPolicyVersion)),
		IsPolicy: kind == "policy" || kind == "guardrail" || strings.HasPrefix(action, "policy.") || strings.HasPrefix(action, "guardrail."),
	}
}

// totalsOf sums the buckets per verdict, in the chart's order.
func totalsOf(buckets []store.TimelineBucket) ([]verdictTotal, int64) {
	sums := map[string]*verdictTotal{}
	for _, v := range verdictOrder {
		sums[v] = &verdictTotal{Verdict: v}
	}
	for _, b := range buckets {
		for v, n := range b.Enforced {
			if sums[v] == nil {
				sums[v] = &verdictTotal{Verdict: v}
			}
			sums[v].Enforced += n
		}
		for v, n := range b.Observed {
			if sums[v] == nil {
				sums[v] = &verdictTotal{Verdict: v}
			}
			sums[v].Observed += n
		}
	}
	var out []verdictTotal
	var total int64
	for _, v := range verdictOrder {
		out = append(out, *sums[v])
		delete(sums, v)
	}
	var others []string // not a canonical verdict: shown, never dropped
	for v := range sums {
		others = append(others, v)
	}
	sort.Strings(others)
	for _, v := range others {
		out = append(out, *sums[v])
	}
	for i := range out {
		out[i].Total = out[i].Enforced + out[i].Observed
		total += out[i].Total
	}
	// Largest first reads better in a table; the chart keeps its order.
	sort.SliceStable(out, func(i, j int) bool { return out[i].Total > out[j].Total })
	return out, total
}

func filterFields(p *auditapi.Params) []filterField {
	labels := map[string]string{
		record.FieldPolicyID: "Policy", record.FieldPolicyVersion: "Policy version", record.FieldProjectID: "Project",
		"user": "Caller", record.FieldModel: "Model", record.FieldRolloutMode: "Rollout mode",
	}
	out := make([]filterField, 0, len(timelineFilters))
	for _, name := range timelineFilters {
		f := filterField{Name: name, Label: labels[name], Value: p.Str(name)}
		if name == record.FieldRolloutMode {
			f.Options = []string{record.RolloutEnforced, record.RolloutShadow, record.RolloutCanary}
		}
		out = append(out, f)
	}
	return out
}

// rangeLinks are the last hour, six hours, day and week up to the newest
// decision, with the page's other filters.
func rangeLinks(q url.Values, newest time.Time) []rangeLink {
	end := newest.Truncate(time.Minute).Add(time.Minute)
	var out []rangeLink
	for _, r := range []struct {
		label string
		span  time.Duration
	}{{"last hour", time.Hour}, {"6 hours", 6 * time.Hour}, {"day", 24 * time.Hour}, {"week", 7 * 24 * time.Hour}} {
		out = append(out, rangeLink{Label: r.label, Href: shifted(q, end.Add(-r.span), end)})
	}
	return out
}

// shifted is the timeline's address with q's filters over another range.
func shifted(q url.Values, since, until time.Time) template.URL {
	v := url.Values{}
	for _, name := range timelineFilters {
		if s := q.Get(name); s != "" {
			v.Set(name, s)
		}
	}
	v.Set("since", since.UTC().Format(time.RFC3339))
	v.Set("until", until.UTC().Format(time.RFC3339))
	return template.URL("/?" + v.Encode()) // #nosec: built from url.Values, a relative address
}
