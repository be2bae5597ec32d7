// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package siem

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/policyaudit/policyaudit/internal/gatewaysim"
	"github.com/policyaudit/policyaudit/internal/record"
	"github.com/policyaudit/policyaudit/internal/testfixtures"
	"github.com/policyaudit/policyaudit/test/harness"
)

var athenaDir = filepath.Join(testfixtures.Root, "deploy", "siem", "athena")

// column is one column of a Hive DDL: its name and type.
type column struct{ name, typ string }

// ddlColumns reads the column list of the CREATE EXTERNAL TABLE in file.
func ddlColumns(t *testing.T, file string) []column {
	b, err := os.ReadFile(filepath.Join(athenaDir, file))
	require.NoError(t, err)
	m := regexp.MustCompile(`(?s)CREATE EXTERNAL TABLE[^(]*\((.*?)\n\)\nPARTITIONED BY`).FindSubmatch(b)
	require.NotNil(t, m, "%s: no CREATE EXTERNAL TABLE", file)
	var out []column
	for _, part := range splitTop(string(m[1])) {
		name, typ, ok := strings.Cut(strings.TrimSpace(part), " ")
		require.True(t, ok, part)
		out = append(out, column{strings.Trim(name, "`"), strings.Join(strings.Fields(typ), " ")})
	}
	return out
}

// splitTop splits s at the commas outside <...>.
func splitTop(s string) []string {
	var out []string
	depth, start := 0, 0
	for i, r := range s {
		switch r {
		case '<':
			depth++
		case '>':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

// duckType is a Hive type as DuckDB spells it.
func duckType(t *testing.T, hive string) string {
	hive = strings.TrimSpace(hive)
	switch {
	case strings.HasPrefix(hive, "array<"):
		return duckType(t, hive[len("array<"):len(hive)-1]) + "[]"
	case strings.HasPrefix(hive, "struct<"):
		var fields []string
		for _, f := range splitTop(hive[len("struct<") : len(hive)-1]) {
			name, typ, ok := strings.Cut(strings.TrimSpace(f), ":")
			require.True(t, ok, f)
			fields = append(fields, name+" "+duckType(t, typ))
		}
		return "STRUCT(" + strings.Join(fields, ", ") + ")"
	}
	types := map[string]string{"string": "VARCHAR", "boolean": "BOOLEAN", "bigint": "BIGINT", "int": "INTEGER", "double": "DOUBLE", "timestamp": "TIMESTAMP WITH TIME ZONE"}
	d, ok := types[hive]
	require.True(t, ok, "no DuckDB type for Hive's %q", hive)
	return d
}

// The table's columns are the canonical record's fields, both kinds, with
// the objects' members: a field renamed or added in internal/record fails
// here until the DDL follows.
func TestAthenaTableHasTheRecordsFields(t *testing.T) {
	got := map[string]string{}
	for _, c := range ddlColumns(t, "policyaudit_records.sql") {
		got[c.name] = c.typ
	}
	want := map[string]bool{}
	for _, k := range []record.Kind{record.KindDecision, record.KindAdmin} {
		for _, f := range record.FieldsOf(k) {
			want[f.Name] = true
			if len(f.Subfields) > 0 {
				var members []string
				for _, s := range f.Subfields {
					members = append(members, s.Name)
				}
				assert.Equal(t, members, structMembers(got[f.Name]), "the members of %s", f.Name)
			}
		}
	}
	var missing, extra []string
	for n := range want {
		if _, ok := got[n]; !ok {
			missing = append(missing, n)
		}
	}
	for n := range got {
		if !want[n] {
			extra = append(extra, n)
		}
	}
	assert.Empty(t, missing, "fields of the record the table lacks")
	assert.Empty(t, extra, "columns that are no field of the record")
	assert.Equal(t, []string{record.UsageInputTokens, record.UsageOutputTokens, record.UsageTotalTokens, record.UsageCost,
		record.UsageCurrency, record.UsageLatencyMS, record.UsageStatusCode, record.UsageRequestPath}, structMembers(got[record.FieldUsage]))
}

func structMembers(typ string) []string {
	if !strings.HasPrefix(typ, "struct<") {
		return nil
	}
	var out []string
	for _, f := range splitTop(typ[len("struct<") : len(typ)-1]) {
		name, _, _ := strings.Cut(strings.TrimSpace(f), ":")
		out = append(out, name)
	}
	return out
}

// Every Athena query of deploy/siem/athena runs, as written, in DuckDB over
// the objects the s3 sidecar wrote to versitygw (the fixtures, the usage
// fixture and two hours of the simulator's traffic with a policy edited at
// the hour), through a table typed exactly as the DDL declares; each
// returns what a count in Go of the same records gives.
func TestAthenaQueriesReturnTheRecordsCounts(t *testing.T) {
	s3 := harness.StartS3(t)
	_, err := s3.AWS(t, "s3api", "create-bucket", "--bucket", "policy-audit")
	require.NoError(t, err)
	env := append([]string{"POLICYAUDIT_RECEIVER_TOKEN=" + harness.ReceiverToken, "POLICYAUDIT_S3_BUCKET=policy-audit",
		"POLICYAUDIT_S3_ENDPOINT=" + s3.Endpoint, harness.NewSigningKey(t).Env()}, s3.Env...)
	examples := filepath.Join(harness.Root, "config", "examples")
	c := harness.StartCollector(t, env, filepath.Join(examples, "common.yaml"), filepath.Join(examples, "s3.yaml"))
	harness.PostFixtures(t, c.URL, harness.ReceiverToken)
	usage, err := os.ReadFile(filepath.Join(testfixtures.Dir, "gateway-usage.ndjson"))
	require.NoError(t, err)
	status, body, err := harness.Post(c.URL, harness.ReceiverToken, usage)
	require.NoError(t, err)
	require.Equal(t, 200, status, body)
	const simulated = 3000
	gen := gatewaysim.NewGenerator(3, time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC), 2*time.Hour, simulated)
	gen.Edit(time.Hour)
	rep, err := gatewaysim.Run(context.Background(), gen, gatewaysim.Options{URL: c.URL, Token: harness.ReceiverToken, Records: simulated, Batch: 500, Workers: 2})
	require.NoError(t, err)
	require.Equal(t, simulated, rep.Accepted, rep.String())

	want := len(harness.Expected(t, harness.AllFixtureRecords...)) + strings.Count(strings.TrimSpace(string(usage)), "\n") + 1 + simulated
	download := t.TempDir()
	var lines []string
	require.Eventually(t, func() bool {
		if _, err := s3.AWS(t, "s3", "cp", "--recursive", "--quiet", "--exclude", "policy-audit/_digest/*", "s3://policy-audit/", download); err != nil {
			return false
		}
		lines = harness.ReadObjects(t, download)
		return len(lines) >= want
	}, 90*time.Second, time.Second, "the records did not reach S3:\n%s", c.Log)
	require.Len(t, lines, want)
	recs := decodeLines(t, lines)

	columns := map[string]string{}
	for _, col := range ddlColumns(t, "policyaudit_records.sql") {
		columns[col.name] = duckType(t, col.typ)
	}
	colJSON, err := json.Marshal(columns)
	require.NoError(t, err)
	glob := filepath.Join(download, "policy-audit", "date=*", "*.jsonl.gz")
	run := func(query string) []map[string]any {
		sql, err := os.ReadFile(filepath.Join(athenaDir, "queries", query))
		require.NoError(t, err)
		rows := duckdb(t, glob, string(colJSON), string(sql))
		t.Logf("%s: %d rows", query, len(rows))
		return rows
	}
	t.Run("decisions-of-a-policy", func(t *testing.T) {
		var want []string
		for _, r := range recs {
			if str(r, "policy_id") == "prompt-injection" && str(r, "decision") == "deny" {
				want = append(want, str(r, "created_at")+" "+str(r, "correlation_id"))
			}
		}
		sort.Strings(want)
		var got []string
		for _, row := range run("decisions-of-a-policy.sql") {
			got = append(got, str(row, "created_at")+" "+str(row, "correlation_id"))
			assert.Equal(t, str(row, "created_at")[:10], str(row, "date"), "the partition is the record's own date")
		}
		require.NotEmpty(t, want)
		assert.Equal(t, want, got)
	})
	t.Run("denials-by-policy-version", func(t *testing.T) {
		want := map[string]int{}
		for _, r := range recs {
			if str(r, "event_kind") == "policy_decision" && str(r, "effective_decision") == "deny" {
				want[str(r, "policy_id")+" "+str(r, "policy_version")]++
			}
		}
		got := map[string]int{}
		for _, row := range run("denials-by-policy-version.sql") {
			got[str(row, "policy_id")+" "+str(row, "policy_version")] = atoi(t, row["denials"])
		}
		assert.Equal(t, want, got)
	})
	t.Run("changes-before-denials", func(t *testing.T) {
		want := map[string]int{}
		for _, a := range recs {
			if str(a, "event_kind") != "admin_audit" || str(a, "policy_id") == "" || str(a, "outcome") != "success" {
				continue
			}
			at, _ := time.Parse(time.RFC3339Nano, str(a, "created_at"))
			n := 0
			for _, d := range recs {
				dt, _ := time.Parse(time.RFC3339Nano, str(d, "created_at"))
				if str(d, "event_kind") == "policy_decision" && str(d, "effective_decision") == "deny" && str(d, "policy_id") == str(a, "policy_id") &&
					!dt.Before(at) && dt.Before(at.Add(time.Hour)) {
					n++
				}
			}
			want[str(a, "created_at")+" "+str(a, "action")+" "+str(a, "policy_id")] += n
		}
		got := map[string]int{}
		for _, row := range run("changes-before-denials.sql") {
			got[str(row, "changed_at")+" "+str(row, "action")+" "+str(row, "policy_id")] += atoi(t, row["denials_in_the_hour_after"])
		}
		assert.Equal(t, want, got)
		assert.Positive(t, got[fmt.Sprintf("2026-12-05T10:00:00.000Z policy.update %s", gatewaysim.EditedPolicy)], "the simulator's edit and the denials after it")
	})
	t.Run("usage-by-project", func(t *testing.T) {
		type sums struct {
			decisions, denied, tokens int
			cost                      float64
		}
		want := map[string]*sums{}
		for _, r := range recs {
			if str(r, "event_kind") != "policy_decision" {
				continue
			}
			u, _ := r["usage"].(map[string]any)
			key := str(r, "project_id") + " " + str(u, "currency")
			s := want[key]
			if s == nil {
				s = &sums{}
				want[key] = s
			}
			s.decisions++
			if str(r, "effective_decision") == "deny" {
				s.denied++
			}
			if n, ok := u["total_tokens"].(float64); ok {
				s.tokens += int(n)
			}
			if c, ok := u["cost"].(float64); ok {
				s.cost += c
			}
		}
		got := map[string]*sums{}
		for _, row := range run("usage-by-project.sql") {
			cost, _ := row["cost"].(float64)
			got[str(row, "project_id")+" "+str(row, "currency")] = &sums{atoi(t, row["decisions"]), atoi(t, row["denied"]), atoi(t, row["total_tokens"]), cost}
		}
		require.Len(t, got, len(want))
		for k, w := range want {
			g := got[k]
			require.NotNil(t, g, k)
			assert.Equal(t, [3]int{w.decisions, w.denied, w.tokens}, [3]int{g.decisions, g.denied, g.tokens}, k)
			assert.InDelta(t, w.cost, g.cost, 1e-9, k)
		}
	})
}

// duckdb runs sql with test/e2e/duckdb/athena.mjs over the objects of glob
// (table: the columns of policyaudit.records as JSON, or "parquet" for
// policyaudit.ocsf_events) and returns its rows.
func duckdb(t *testing.T, glob, table, sql string) []map[string]any {
	cmd := exec.Command("node", filepath.Join(testfixtures.Root, "test", "e2e", "duckdb", "athena.mjs"), glob, table, sql)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "DuckDB (make tools installs it): %s\n%s", &stderr, sql)
	var rows []map[string]any
	require.NoError(t, json.Unmarshal(out, &rows))
	return rows
}

// The OCSF table's columns are, name by name and type by type, the Parquet
// schema of the objects the OCSF sidecar (common.yaml + ocsf.yaml) wrote to
// versitygw in Security Lake's layout, as DuckDB reads them; its query runs
// unchanged and counts each policy's enforced denials as a count in Go of
// the same records does.
func TestAthenaOCSFTableIsTheParquetObjectsSchema(t *testing.T) {
	s3 := harness.StartS3(t)
	for _, bucket := range []string{"policy-audit", "security-lake"} {
		_, err := s3.AWS(t, "s3api", "create-bucket", "--bucket", bucket)
		require.NoError(t, err)
	}
	env := append([]string{"POLICYAUDIT_RECEIVER_TOKEN=" + harness.ReceiverToken, "POLICYAUDIT_S3_BUCKET=policy-audit",
		"POLICYAUDIT_SECURITY_LAKE_BUCKET=security-lake", "POLICYAUDIT_AWS_ACCOUNT_ID=123456789012", "POLICYAUDIT_S3_ENDPOINT=" + s3.Endpoint,
		harness.NewSigningKey(t).Env()}, s3.Env...)
	examples := filepath.Join(harness.Root, "config", "examples")
	c := harness.StartCollector(t, env, filepath.Join(examples, "common.yaml"), filepath.Join(examples, "ocsf.yaml"))
	harness.PostFixtures(t, c.URL, harness.ReceiverToken)
	recs := decodeLines(t, harness.Expected(t, harness.AllFixtureRecords...))
	lake := t.TempDir()
	glob := filepath.Join(lake, "ext", "*", "region=*", "accountId=*", "eventDay=*", "*.parquet")
	require.Eventually(t, func() bool {
		if _, err := s3.AWS(t, "s3", "cp", "--recursive", "--quiet", "--exclude", "*_digest*", "s3://security-lake/", lake); err != nil {
			return false
		}
		files, _ := filepath.Glob(glob)
		if len(files) == 0 {
			return false
		}
		n := duckdb(t, glob, "parquet", `SELECT count(*) AS n FROM policyaudit.ocsf_events WHERE class_uid <> 2004`)
		return atoi(t, n[0]["n"]) >= len(recs)
	}, 90*time.Second, time.Second, "the Parquet objects did not reach the lake:\n%s", c.Log)

	described := duckdb(t, glob, "parquet", `SELECT column_name, column_type FROM (DESCRIBE policyaudit.ocsf_events)`)
	got := map[string]string{}
	for _, r := range described {
		// DuckDB quotes member names that are its keywords ("name"), and
		// reads Parquet's JSON-annotated strings as JSON, a string to Athena.
		typ := strings.ReplaceAll(str(r, "column_type"), `"`, "")
		if typ == "JSON" {
			typ = "VARCHAR"
		}
		got[strings.ToLower(str(r, "column_name"))] = typ
	}
	want := map[string]string{"source": "VARCHAR", "region": "VARCHAR", "accountid": "VARCHAR", "eventday": "VARCHAR"}
	for _, col := range ddlColumns(t, "ocsf_events.sql") {
		want[col.name] = duckType(t, col.typ)
	}
	assert.Equal(t, want, got, "the DDL's columns and types, and the Parquet objects' as DuckDB reads them")

	sql, err := os.ReadFile(filepath.Join(athenaDir, "queries", "ocsf-denials-by-policy.sql"))
	require.NoError(t, err)
	wantDenials := map[string]int{}
	for _, r := range recs {
		if str(r, "event_kind") == "policy_decision" && str(r, "effective_decision") == "deny" {
			wantDenials[str(r, "policy_id")+" "+str(r, "policy_version")]++
		}
	}
	gotDenials := map[string]int{}
	for _, row := range duckdb(t, glob, "parquet", string(sql)) {
		gotDenials[str(row, "policy_id")+" "+str(row, "policy_version")] = atoi(t, row["denials"])
	}
	require.NotEmpty(t, wantDenials)
	assert.Equal(t, wantDenials, gotDenials)
}

func str(r map[string]any, k string) string { s, _ := r[k].(string); return s }

// decodeLines decodes canonical records, one JSON object a line.
func decodeLines(t *testing.T, lines []string) []map[string]any {
	recs := make([]map[string]any, 0, len(lines))
	for _, l := range lines {
		var r map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &r))
		recs = append(recs, r)
	}
	return recs
}

// atoi reads a count DuckDB printed (a BIGINT as a string; NULL as 0).
func atoi(t *testing.T, v any) int {
	switch n := v.(type) {
	case nil:
		return 0
	case float64:
		return int(n)
	case string:
		var i int
		_, err := fmt.Sscan(n, &i)
		require.NoError(t, err, n)
		return i
	}
	t.Fatalf("not a count: %#v", v)
	return 0
}
