// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/policyaudit/policyaudit/exporter/azurelogsingestionexporter"
	"github.com/policyaudit/policyaudit/internal/record"
)

// An erasure deletes the person's vault entry: every tokenised copy, in
// every destination, is then about nobody. Copies written before the value
// was tokenised (or under hash, or no rule) still hold the value or its
// keyed hash; the report says, destination by destination, where they may
// be and what removes them, and removes them where it can (Elasticsearch,
// with the exporter's own credentials).

// Outcomes of a destination in the report.
const (
	copyRemoved   = "removed"    // deleted now
	copyNone      = "none found" // searched: no copy holds the value
	copyFound     = "FOUND"      // copies found that this command cannot remove
	copyManual    = "search there"
	copyPermanent = "cannot be removed"
	copyError     = "ERROR"
	copySkipped   = "not searched"
)

type erasureReport struct {
	// Erased is one entry per --subject value, in order; nil for a value
	// the vault held no token for (NotInVault counts them).
	Erased     []*erasure   `json:"erased"`
	NotInVault int          `json:"not_in_vault,omitempty"`
	Copies     []copyReport `json:"copies"`
}

// copyReport is one destination's part of the report.
type copyReport struct {
	Exporter string   `json:"exporter"`
	Type     string   `json:"type"`
	Status   string   `json:"status"`
	Count    int      `json:"count,omitempty"`
	Where    []string `json:"where,omitempty"`
	// Action is what removes the copies (or why nothing can).
	Action string `json:"action,omitempty"`
}

func (r erasureReport) writeText(w io.Writer) {
	for i, er := range r.Erased {
		if er == nil {
			fmt.Fprintf(w, "value %d: the vault holds no token for it (never tokenised, or erased already): nothing to erase there\n", i+1)
			continue
		}
		fmt.Fprintf(w, "erased: the vault entry of token %s (subject.erase event %s); %d stored records keep the token, tied to nobody now\n",
			er.Token, er.EventID, er.Records)
		if len(er.Related) > 0 {
			fmt.Fprintf(w, "  other tokens in those records (an API key ID, another identifier): %s\n  each is forgotten only when its own value is erased: give every identifier of the person (--subject, repeated)\n",
				strings.Join(er.Related, ", "))
		}
	}
	fmt.Fprintln(w, "copies holding the value or its keyed hash (written before tokenisation, or without it):")
	for _, c := range r.Copies {
		count := ""
		if c.Count > 0 {
			count = fmt.Sprintf(" (%d)", c.Count)
		}
		fmt.Fprintf(w, "- %s: %s%s\n", c.Exporter, c.Status, count)
		for _, where := range c.Where {
			fmt.Fprintf(w, "    %s\n", where)
		}
		if c.Action != "" {
			fmt.Fprintf(w, "    %s\n", c.Action)
		}
	}
}

// forms are what a copy may hold in place of the person: the value, and
// its keyed hash under every hash_key the config's processors use.
func forms(cfg collectorConfig, value string) []string {
	out := []string{value}
	for _, name := range sortedKeys(mapAt(cfg, "processors")) {
		key := str(cfg, "processors", name, "pii", "hash_key")
		if componentType(name) != "policydecision" || key == "" {
			continue
		}
		if f := record.KeyedHash([]byte(key), value); !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// personFields are the canonical fields that may name a person: the
// identity fields of records.md and every field a PII rule of the config
// names.
func personFields(cfg collectorConfig) []string {
	fields := []string{record.FieldPolicyUser, record.FieldActor + "." + record.SubfieldID, record.FieldAPIKeyID}
	for _, name := range sortedKeys(mapAt(cfg, "processors")) {
		if componentType(name) != "policydecision" {
			continue
		}
		for path := range mapAt(cfg, "processors", name, "pii", "fields") {
			if !slices.Contains(fields, path) {
				fields = append(fields, path)
			}
		}
	}
	slices.Sort(fields)
	return fields
}

// holdsAny reports a string anywhere in rec equal to one of values.
func holdsAny(v any, values []string) bool {
	switch x := v.(type) {
	case string:
		return slices.Contains(values, x)
	case map[string]any:
		for _, e := range x {
			if holdsAny(e, values) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if holdsAny(e, values) {
				return true
			}
		}
	}
	return false
}

// copiesOf reports every exporter of the config's logs pipelines.
func copiesOf(ctx context.Context, cfg collectorConfig, admin adminAPI, f subjectFlags) []copyReport {
	var values []string
	for _, v := range f.values {
		values = append(values, forms(cfg, v)...)
	}
	fields := personFields(cfg)
	var out []copyReport
	for _, use := range cfg.exporters() {
		if use.Type == "durable" {
			use.Type, use.Config = str(use.Config, "exporter"), mapAt(use.Config, "settings")
		}
		c := copyReport{Exporter: use.ID, Type: use.Type}
		switch use.Type {
		case "auditstore":
			storedCopies(ctx, admin, values, &c)
		case "elasticsearch":
			deleteInElasticsearch(ctx, use, fields, values, &c)
		case "awss3", "s3audit":
			findCopies(&c, "an object under S3 Object Lock cannot be rewritten or deleted before its retain-until date; otherwise write each object again without those records (and its digest), or delete it", func(opts locateOptions) ([]located, error) {
				loc := awsS3Location(use)
				if use.Type == "s3audit" {
					loc = s3AuditLocation(use)
				}
				return findInS3(ctx, loc, personMatcher(values), opts)
			}, cfg, f)
		case "file":
			findCopies(&c, "rewrite these files without those lines", func(opts locateOptions) ([]located, error) {
				return findInFiles(ctx, use, personMatcher(values), opts)
			}, cfg, f)
		case "splunk_hec":
			c.Status, c.Action = copyManual, splunkDelete(use, fields, values)
		case "azure_logs_ingestion":
			c.Status, c.Action = copyManual, azurePurge(fields, values)
		case "datadog", "datadog_logs":
			c.Status = copyPermanent
			c.Action = "Datadog deletes no log by query: copies age out with the index's retention; to see them, in Log Explorer: " + datadogQuery(fields, values)
		default:
			c.Status, c.Action = copySkipped, "no search for exporter type "+use.Type
		}
		out = append(out, c)
	}
	return out
}

// personMatcher matches the records holding one of values anywhere.
func personMatcher(values []string) matcher {
	m := matcher{keep: func(rec map[string]any) bool { return holdsAny(rec, values) }}
	for _, v := range values {
		// As JSON writes it inside a line: quoted, escaped.
		b, _ := json.Marshal(v)
		m.needles = append(m.needles, b)
	}
	return m
}

// findCopies searches a store of JSON lines, one date partition at a time
// over --since..--until (every partition without them).
func findCopies(c *copyReport, action string, find func(locateOptions) ([]located, error), cfg collectorConfig, f subjectFlags) {
	dates, err := partitionDates(f.since, f.until)
	if err != nil {
		c.Status, c.Action = copyError, err.Error()
		return
	}
	seen := map[string]bool{}
	for _, d := range dates {
		found, err := find(locateOptions{Date: d, Config: cfg, Client: &http.Client{Timeout: 30 * time.Second}})
		if err != nil {
			c.Status, c.Action = copyError, err.Error()
			return
		}
		for _, l := range found {
			c.Count++
			if !seen[l.Where] {
				seen[l.Where] = true
				c.Where = append(c.Where, l.Where)
			}
		}
	}
	c.Status = copyNone
	if c.Count > 0 {
		c.Status, c.Action = copyFound, action
	}
}

// partitionDates are the dates from since to until, or one "" (every
// partition) without them.
func partitionDates(since, until string) ([]string, error) {
	if since == "" && until == "" {
		return []string{""}, nil
	}
	today := time.Now().UTC().Format(time.DateOnly)
	from, err := time.Parse(time.DateOnly, orDefault(since, until))
	if err != nil {
		return nil, fmt.Errorf("--since: %w", err)
	}
	to, err := time.Parse(time.DateOnly, orDefault(until, today))
	if err != nil {
		return nil, fmt.Errorf("--until: %w", err)
	}
	if to.Before(from) || to.Sub(from) > 3660*24*time.Hour {
		return nil, fmt.Errorf("--since %s --until %s: not a range of at most ten years", from.Format(time.DateOnly), to.Format(time.DateOnly))
	}
	var out []string
	for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
		out = append(out, d.Format(time.DateOnly))
	}
	return out, nil
}

// storedCopies counts the audit store's records that hold a form of the
// value in their user column (from before tokenisation): a signed chain
// cannot lose a record without breaking, so they leave with retention.
func storedCopies(ctx context.Context, admin adminAPI, values []string, c *copyReport) {
	for _, v := range values {
		for _, path := range []string{"/api/v1/decisions?limit=1000&user=", "/admin/api/v1/audit?limit=1000&user="} {
			next := ""
			for {
				var page struct {
					Records []struct {
						Seq int64 `json:"seq"`
					} `json:"records"`
					NextCursor string `json:"next_cursor"`
				}
				q := path + url.QueryEscape(v)
				if next != "" {
					q += "&cursor=" + url.QueryEscape(next)
				}
				if err := admin.get(ctx, q, &page); err != nil {
					c.Status, c.Action = copyError, err.Error()
					return
				}
				c.Count += len(page.Records)
				if next = page.NextCursor; next == "" {
					break
				}
			}
		}
	}
	c.Status = copyNone
	if c.Count > 0 {
		c.Status = copyPermanent
		c.Action = "records in the signed chain cannot be rewritten without breaking it: they leave with the store's retention (retention_days)"
	}
}

// deleteInElasticsearch deletes, with the exporter's credentials, the
// documents whose person fields hold a form of the value, from the data
// streams the processor's destination elasticsearch names (no other
// stream: another team's documents may share field names), and reports the
// count; a refusal says what to run with a role that may delete.
func deleteInElasticsearch(ctx context.Context, use exporterUse, fields, values []string, c *copyReport) {
	var should []any
	for _, f := range fields {
		for _, v := range values {
			// Exact terms only (keyword, or a text field's keyword
			// sub-field): a phrase could delete a look-alike.
			should = append(should,
				map[string]any{"term": map[string]any{"policy." + f: v}},
				map[string]any{"term": map[string]any{"policy." + f + ".keyword": v}})
		}
	}
	query := map[string]any{"query": map[string]any{"bool": map[string]any{"should": should, "minimum_should_match": 1}}}
	if !esNested(use) {
		body, _ := json.Marshal(query)
		c.Status = copyManual
		c.Action = "the records are not in the processor's elasticsearch shape here, so the command deletes nothing: run POST <data stream>/_delete_by_query with the query on the fields where they are (" + string(body) + ")"
		return
	}
	streams := esStreams(use)
	path := "/" + streams + "/_delete_by_query?refresh=true&conflicts=proceed"
	req, err := esRequest(ctx, use, path, query)
	if err != nil {
		c.Status, c.Action = copyError, err.Error()
		return
	}
	var res struct {
		Deleted  int   `json:"deleted"`
		Failures []any `json:"failures"`
	}
	if err := getJSON(&http.Client{Timeout: 5 * time.Minute}, req, &res); err != nil {
		c.Status = copyError
		c.Action = "run POST /" + streams + "/_delete_by_query with a role that may delete: " + err.Error()
		return
	}
	c.Count = res.Deleted
	switch {
	case len(res.Failures) > 0:
		c.Status, c.Action = copyError, fmt.Sprintf("%d documents deleted, %d failures: run it again", res.Deleted, len(res.Failures))
	case res.Deleted > 0:
		c.Status, c.Action = copyRemoved, "_delete_by_query on "+streams+" (the documents' space is reclaimed as segments merge)"
	default:
		c.Status = copyNone
	}
}

// esStreams are the decision and admin data streams of the processor's
// destination elasticsearch, comma-separated.
func esStreams(use exporterUse) string {
	ns := orDefault(str(use.Processor, "elastic", "namespace"), "default")
	var out []string
	for _, ds := range []string{orDefault(str(use.Processor, "elastic", "dataset"), "policy_gateway.audit"), orDefault(str(use.Processor, "elastic", "admin_dataset"), "policy_gateway.admin")} {
		out = append(out, "logs-"+ds+"-"+ns)
	}
	return strings.Join(out, ",")
}

// splunkDelete is the search that removes the copies (run by a user with
// the can_delete role).
func splunkDelete(use exporterUse, fields, values []string) string {
	index := orDefault(str(use.Processor, "splunk", "index"), orDefault(str(use.Config, "index"), "main"))
	var quoted []string
	for _, v := range values {
		quoted = append(quoted, strconv.Quote(v))
	}
	var terms []string
	for _, f := range fields {
		terms = append(terms, fmt.Sprintf("%s IN (%s)", f, strings.Join(quoted, ", ")))
	}
	return fmt.Sprintf("HEC cannot delete; a user with the can_delete role runs in Splunk: search index=%s (%s) | delete (the events leave search at once, the disk when their bucket ages out)",
		index, strings.Join(terms, " OR "))
}

// azurePurge is the Log Analytics purge call for each table of
// deploy/azure whose columns hold a person field.
func azurePurge(fields, values []string) string {
	var calls []string
	for _, k := range []record.Kind{record.KindDecision, record.KindAdmin} {
		table := azurelogsingestionexporter.Tables[k]
		columns := map[string]bool{}
		for _, col := range azurelogsingestionexporter.Columns(k) {
			columns[col.Name] = true
		}
		for _, f := range fields {
			col := pascalPath(f)
			if !columns[col] {
				continue
			}
			body, _ := json.Marshal(map[string]any{"table": table, "filters": []any{map[string]any{"column": col, "operator": "in", "value": values}}})
			calls = append(calls, string(body))
		}
	}
	return "the Logs Ingestion API cannot delete; with the Data Purger role, POST https://management.azure.com/subscriptions/{subscription}/resourceGroups/{group}/providers/Microsoft.OperationalInsights/workspaces/{workspace}/purge?api-version=2020-08-01 with each body: " +
		strings.Join(calls, " ; ")
}

// pascalPath is a field path's Log Analytics column (actor.id is ActorId).
func pascalPath(path string) string {
	var b strings.Builder
	for _, part := range strings.Split(path, ".") {
		for _, word := range strings.Split(part, "_") {
			if word != "" {
				b.WriteString(strings.ToUpper(word[:1]) + word[1:])
			}
		}
	}
	return b.String()
}

// datadogQuery is the Log Explorer query for the copies.
func datadogQuery(fields, values []string) string {
	var terms []string
	for _, f := range fields {
		for _, v := range values {
			terms = append(terms, fmt.Sprintf("@%s:%s", f, strconv.Quote(v)))
		}
	}
	return strings.Join(terms, " OR ")
}
