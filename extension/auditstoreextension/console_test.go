// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package auditstoreextension

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/policyaudit/policyaudit/internal/auditconsole"
	"github.com/policyaudit/policyaudit/internal/jsonbody"
	"github.com/policyaudit/policyaudit/internal/record"
	"github.com/policyaudit/policyaudit/internal/signing"
)

// canonicalLines normalises and names inline records of one kind.
func canonicalLines(t *testing.T, kind record.Kind, lines ...string) plog.Logs {
	t.Helper()
	namer := record.NewNamer(nil)
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for _, line := range lines {
		obj, err := jsonbody.DecodeObject([]byte(line), jsonbody.DefaultLimits)
		require.NoError(t, err)
		r, err := record.NormalizeValue(obj, record.Hints{Kind: kind})
		require.NoError(t, err, line)
		appendCanonical(lrs, namer, r)
	}
	return ld
}

func fetch(t *testing.T, url string) (int, http.Header, string) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header, string(b)
}

// The shell and its files are served to anyone (they hold no record) with a
// CSP that allows the console's own script and nothing inline; the console
// is read-only.
func TestConsoleShellIsStaticAndStrict(t *testing.T) {
	_, url := startExporter(t)
	for _, page := range []string{"/", "/search?q=x", "/records/abc", "/admin", "/integrity"} {
		status, h, body := fetch(t, url+page)
		require.Equal(t, http.StatusOK, status, page)
		assert.Equal(t, auditconsole.ContentSecurityPolicy, h.Get("Content-Security-Policy"), page)
		assert.Equal(t, "nosniff", h.Get("X-Content-Type-Options"))
		assert.Equal(t, "DENY", h.Get("X-Frame-Options"))
		assert.Contains(t, body, `<script src="/console/static/console.js" defer></script>`)
		assert.Equal(t, 1, strings.Count(body, "<script"), "one script, from a file")
		assert.NotContains(t, body, "style=", "no inline style")
	}
	status, h, js := fetch(t, url+"/console/static/console.js")
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, h.Get("Content-Type"), "javascript")
	assert.Contains(t, js, `headers.Authorization = "Bearer " + token`, "the token travels as a header")
	assert.NotContains(t, js, "document.cookie")
	assert.NotContains(t, js, "localStorage", "the token stays in the tab")
	for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
		for _, page := range []string{"/", "/records/abc", "/console/fragment/timeline"} {
			req, _ := http.NewRequest(method, url+page, strings.NewReader("x"))
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode, method+" "+page)
		}
	}
	status, _, body := fetch(t, url+"/console/fragment/timeline")
	assert.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, "No policy decision is stored yet")
	status, _, body = fetch(t, url+"/console/fragment/timeline?polcy_id=x")
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, body, "polcy_id: unknown parameter")
}

// Records carry attacker-controlled strings: on every page they are text.
func TestConsoleEscapesEveryRecordString(t *testing.T) {
	exp, url := startExporter(t)
	const (
		script = `<script>alert(1)</script>`
		img    = `"><img src=x onerror=alert(2)>`
		svg    = `<svg onload=alert(3)>`
		href   = `javascript:alert(4)`
	)
	ctx := context.Background()
	require.NoError(t, exp.ConsumeLogs(ctx, canonicalLines(t, record.KindDecision, fmt.Sprintf(
		`{"request_id":%q,"policy_id":%q,"policy_version":%q,"decision":"deny","policy_user":%q,"project_id":%q,"model":%q,"created_at":"2026-03-02T10:00:00Z"}`,
		href, script, img, img, svg, script))))
	require.NoError(t, exp.ConsumeLogs(ctx, canonicalLines(t, record.KindAdmin, fmt.Sprintf(
		`{"created_at":"2026-03-02T09:00:00Z","request_id":"adm-1","actor":{"id":%q,"type":"user"},"action":"policy.update","resource":{"type":"policy","id":%q,"name":%q},"outcome":"success","policy_id":%q}`,
		img, svg, script, script))))
	decisions := records(t, url+"/api/v1/decisions")
	require.Len(t, decisions, 1)
	id := decisions[0]["event_id"].(string)
	admin := records(t, url+"/admin/api/v1/audit?days=100000")
	require.Len(t, admin, 1)

	for _, page := range []string{
		"/console/fragment/timeline?since=2026-03-02T00:00:00Z&until=2026-03-03T00:00:00Z",
		"/console/fragment/timeline?since=2026-03-02T00:00:00Z&until=2026-03-03T00:00:00Z&policy_id=" + urlQuery(script),
		"/console/fragment/search?q=" + urlQuery(img),
		"/console/fragment/search?q=" + urlQuery(href),
		"/console/fragment/records/" + id,
		"/console/fragment/records/" + admin[0]["event_id"].(string),
		"/console/fragment/admin?days=100000",
	} {
		status, h, body := fetch(t, url+page)
		require.Equal(t, http.StatusOK, status, page)
		assert.Equal(t, auditconsole.ContentSecurityPolicy, h.Get("Content-Security-Policy"))
		for _, raw := range []string{"<script", "<img", "<svg onload", `href="javascript`} {
			assert.NotContains(t, body, raw, page)
		}
		assert.Regexp(t, `&lt;script&gt;alert\(1\)&lt;/script&gt;|&lt;svg onload=alert\(3\)&gt;|&#34;&gt;&lt;img src=x onerror=alert\(2\)&gt;`, body, "%s shows the strings as text", page)
	}
	// A record page for any event ID: a path segment, escaped.
	status, _, body := fetch(t, url+"/console/fragment/records/"+urlQuery(script))
	assert.Equal(t, http.StatusNotFound, status)
	assert.Contains(t, body, "&lt;script&gt;alert(1)&lt;/script&gt;")
}

func urlQuery(s string) string { return strings.ReplaceAll(urlPath(s), "/", "%2F") }

func urlPath(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '/' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// The timeline counts each verdict of the range (enforced apart from
// observed) as the store's stats do, draws each bucket, and puts the admin
// events of the filtered policy on the axis at their time.
func TestConsoleTimelineCountsAndMarkers(t *testing.T) {
	exp, url := startExporter(t)
	var lines []string
	for i := range 120 { // two hours, a decision a minute
		decision, mode := "allow", "enforced"
		if i%4 == 0 {
			decision = "deny"
		}
		if i%10 == 0 {
			mode = "shadow"
		}
		lines = append(lines, fmt.Sprintf(`{"request_id":"r-%d","policy_id":"p%d","decision":%q,"rollout_mode":%q,"created_at":"2026-03-02T%02d:%02d:00Z"}`,
			i, i%2, decision, mode, 10+i/60, i%60))
	}
	ctx := context.Background()
	require.NoError(t, exp.ConsumeLogs(ctx, canonicalLines(t, record.KindDecision, lines...)))
	require.NoError(t, exp.ConsumeLogs(ctx, canonicalLines(t, record.KindAdmin,
		`{"created_at":"2026-03-02T10:30:00Z","request_id":"adm-1","actor":{"id":"carol","type":"user"},"action":"policy.update","resource":{"type":"policy","id":"p0"},"outcome":"success","policy_id":"p0"}`,
		`{"created_at":"2026-03-02T11:00:00Z","request_id":"adm-2","actor":{"id":"dave","type":"user"},"action":"key.revoke","resource":{"type":"api_key","id":"k1"},"outcome":"success"}`)))

	status, _, body := fetch(t, url+"/console/fragment/timeline")
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, `data-since="2026-03-02T10:00:00Z" data-until="2026-03-02T12:00:00Z" data-step="1m0s"`, "the default range is where the decisions are")
	totals := attrs(body, `<tr data-verdict="(\w+)" data-enforced="(\d+)" data-observed="(\d+)"`)
	assert.Equal(t, map[string][]int{"allow": {84, 6}, "deny": {24, 6}, "escalate": {0, 0}, "modify": {0, 0}, "redact": {0, 0}}, totals)
	assert.Len(t, regexp.MustCompile(`<rect class="bar `).FindAllString(body, -1), 120, "one bar a minute")
	assert.Len(t, regexp.MustCompile(`<a class="marker`).FindAllString(body, -1), 2)
	assert.Contains(t, body, `<a class="marker policy" href="/records/`)

	status, _, body = fetch(t, url+"/console/fragment/timeline?policy_id=p0&since=2026-03-02T10:00:00Z&until=2026-03-02T11:00:00Z")
	require.Equal(t, http.StatusOK, status)
	totals = attrs(body, `<tr data-verdict="(\w+)" data-enforced="(\d+)" data-observed="(\d+)"`)
	assert.Equal(t, []int{12, 3}, totals["deny"], "p0 in the first hour: i = 0, 2, ..., 58; deny when i%4 == 0 (15), shadow when i%10 == 0 too (0, 20, 40)")
	markers := regexp.MustCompile(`<a class="marker policy"[^>]*data-time="([^"]+)"><title>[^<]*</title><line x1="([\d.]+)"`).FindAllStringSubmatch(body, -1)
	require.Len(t, markers, 1, "only the filtered policy's admin events")
	assert.Equal(t, "2026-03-02T10:30:00.000Z", markers[0][1])
	x, _ := strconv.ParseFloat(markers[0][2], 64)
	assert.InDelta(t, 56+(1000-56-14)/2.0, x, 0.1, "half way along the axis (TestMarkerSitsAtItsTime: the chart's geometry)")
}

func attrs(body, pattern string) map[string][]int {
	out := map[string][]int{}
	for _, m := range regexp.MustCompile(pattern).FindAllStringSubmatch(body, -1) {
		for _, v := range m[2:] {
			n, _ := strconv.Atoi(v)
			out[m[1]] = append(out[m[1]], n)
		}
	}
	return out
}

// A record page checks its own link: it says so when the link holds, and
// names the problem when the record was changed or its predecessor deleted.
func TestConsoleRecordPageChecksItsLink(t *testing.T) {
	exp, url, path := startExporterAt(t)
	require.NoError(t, exp.ConsumeLogs(context.Background(), canonicalLogs(t, allFixtures...)))
	bySeq := map[int64]string{}
	status, body := get(t, url+"/api/v1/decisions?limit=1000")
	require.Equal(t, http.StatusOK, status)
	for _, r := range body["records"].([]any) {
		row := r.(map[string]any)
		bySeq[int64(row["seq"].(float64))] = row["record"].(map[string]any)["event_id"].(string)
	}
	for _, seq := range []int64{4, 5, 7} {
		require.Contains(t, bySeq, seq, "a decision at seq %d", seq)
	}
	_, _, page := fetch(t, url+"/console/fragment/records/"+bySeq[4])
	assert.Contains(t, page, `data-ok="true"`)
	assert.Contains(t, page, "prev_hash is the hash of seq 3")

	tamper(t, path, `UPDATE records SET record = replace(record, '"deny"', '"allow"') WHERE seq = 4`)
	_, _, page = fetch(t, url+"/console/fragment/records/"+bySeq[4])
	assert.Contains(t, page, `data-ok="false"`)
	assert.Contains(t, page, "hash does not match the record")
	_, _, page = fetch(t, url+"/console/fragment/records/"+bySeq[5])
	assert.Contains(t, page, `data-ok="true"`, "the next record's own link still holds")

	tamper(t, path, `DELETE FROM records WHERE seq = 6`)
	_, _, page = fetch(t, url+"/console/fragment/records/"+bySeq[7])
	assert.Contains(t, page, `data-ok="false"`)
	assert.Contains(t, page, "seq 6 is missing")
}

// The integrity page shows the newest whole-chain verification with its
// time, and runs a new one when asked: a tampered row shows up then.
func TestConsoleIntegrityVerifiesOnDemand(t *testing.T) {
	exp, url, path := startExporterAt(t)
	require.NoError(t, exp.ConsumeLogs(context.Background(), canonicalLogs(t, allFixtures...)))
	_, _, page := fetch(t, url+"/console/fragment/integrity")
	assert.Contains(t, page, `id="verification" data-ok="true" data-anchored="false"`)
	assert.Contains(t, page, "Not anchored")

	tamper(t, path, `UPDATE records SET record = replace(record, '"deny"', '"allow"') WHERE seq = 4`)
	_, _, page = fetch(t, url+"/console/fragment/integrity")
	assert.Contains(t, page, `data-ok="true"`, "the last verification, with its time")
	assert.Contains(t, page, `id="verified-at"`)
	_, _, page = fetch(t, url+"/console/fragment/integrity?verify=now")
	assert.Contains(t, page, `data-ok="false"`)
	assert.Contains(t, page, "first bad seq 4")
	status, _, _ := fetch(t, url+"/console/fragment/integrity?verify=later")
	assert.Equal(t, http.StatusBadRequest, status)
}

// console.enabled: false leaves the JSON API alone on the endpoint.
func TestConsoleCanBeTurnedOff(t *testing.T) {
	_, url, _ := startExporterWith(t, func(c *Config) { c.Console.Enabled = false })
	for _, page := range []string{"/", "/search", "/console/static/console.js", "/console/fragment/timeline"} {
		status, h, body := fetch(t, url+page)
		assert.Equal(t, http.StatusNotFound, status, page)
		assert.Equal(t, "application/json", h.Get("Content-Type"), page)
		assert.Contains(t, body, "no such endpoint", page)
	}
	status, _ := get(t, url+"/api/v1/stats")
	assert.Equal(t, http.StatusOK, status)
}

// tamper changes the database file behind the running store's back.
func tamper(t *testing.T, path, stmt string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	require.NoError(t, err)
	defer db.Close()
	_, err = db.Exec(stmt)
	require.NoError(t, err)
}

// A signed head whose signature no longer verifies (the signed_heads table
// changed on disk) is named on the integrity page, never shown as "nothing
// signed yet".
func TestConsoleIntegrityNamesABadSignedHead(t *testing.T) {
	priv, _, err := signing.GenerateKey()
	require.NoError(t, err)
	withKey := func(c *Config) { c.Signing.Key = configopaque.String(priv) }
	path := filepath.Join(t.TempDir(), "audit.db")
	t.Run("store and stop", func(t *testing.T) { // its shutdown signs the head
		exp, _, _ := startExporterWith(t, func(c *Config) { withKey(c); c.Path = path })
		require.NoError(t, exp.ConsumeLogs(context.Background(), canonicalLogs(t, allFixtures...)))
	})
	tamper(t, path, `UPDATE signed_heads SET signature = 'AAAA' WHERE id = (SELECT MAX(id) FROM signed_heads)`)

	_, url, _ := startExporterWith(t, func(c *Config) { withKey(c); c.Path = path })
	_, _, page := fetch(t, url+"/console/fragment/integrity")
	assert.Contains(t, page, "its chain did not continue its newest signed head: 1 newer signed heads do not verify under key")
	assert.NotContains(t, page, "Nothing signed yet")
	assert.Contains(t, page, `data-ok="false"`, "and the verification fails")
}

// The usage page: each day's decisions per project, the share denied,
// tokens and cost from the records' usage.
func TestConsoleUsagePerProjectPerDay(t *testing.T) {
	exp, url := startExporter(t)
	require.NoError(t, exp.ConsumeLogs(context.Background(), canonicalLines(t, record.KindDecision,
		`{"policy_id":"p","decision":"allow","project_id":"billing","created_at":"2026-03-02T09:00:00Z","usage":{"input_tokens":100,"output_tokens":50,"cost":0.25,"currency":"USD"}}`,
		`{"policy_id":"p","decision":"deny","project_id":"billing","created_at":"2026-03-02T10:00:00Z","usage":{"input_tokens":40,"output_tokens":0,"cost":0.05,"currency":"USD"}}`,
		`{"policy_id":"p","decision":"allow","project_id":"support","created_at":"2026-03-03T10:00:00Z","usage":{"input_tokens":7,"output_tokens":3,"cost":0.5,"currency":"USD"}}`,
	)))
	status, _, page := fetch(t, url+"/console/fragment/usage")
	require.Equal(t, http.StatusOK, status, page)
	assert.Contains(t, page, "from 2026-02-25 to 2026-03-03", "the week up to the newest decision")
	assert.Regexp(t, `(?s)data-day="2026-03-02".*<td>billing</td><td>2</td><td>50.0%</td><td>190</td><td>0.3000 USD</td>`, page)
	assert.Regexp(t, `(?s)data-day="2026-03-03".*<td>support</td><td>1</td><td>0.0%</td><td>10</td><td>0.5000 USD</td>`, page)
	_, _, page = fetch(t, url+"/console/fragment/usage?since=2026-03-03&until=2026-03-04")
	assert.NotContains(t, page, "billing")
}
