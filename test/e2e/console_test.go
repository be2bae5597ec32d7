// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/policyaudit/policyaudit/internal/gatewaysim"
	"github.com/policyaudit/policyaudit/test/harness"
)

// The hostile record's strings: each would run script if a page put it into
// markup unescaped.
const (
	hostileScript = `<script>window.__pwned = "script"</script>`
	hostileImg    = `"><img src=x onerror="window.__pwned='img'">`
	hostileSVG    = `<svg onload="window.__pwned='svg'"></svg>`
)

// The console in a real browser (Debian's Chromium, driven over CDP): an
// hour of simulated traffic with a policy tightened in the middle, stored
// with a signing key and read with the query API's bearer token. The
// timeline's counts are the store's stats, the edit is a marker at its time
// where the policy's deny rate jumps, a correlation ID leads to its record
// page with a verified link and the edit before it, a record of attacker
// strings renders as text with no script run, and the integrity page shows
// the signed head and its key. Screenshots land in bin/screenshots (the
// README's timeline is one).
func TestConsoleInABrowser(t *testing.T) {
	chromium := chromiumBin(t)
	key := harness.NewSigningKey(t)
	examples := filepath.Join(harness.Root, "config", "examples")
	c := harness.StartCollector(t, []string{"POLICYAUDIT_RECEIVER_TOKEN=" + token, key.Env()},
		filepath.Join(examples, "common.yaml"), filepath.Join(examples, "auditstore.yaml"))

	start := time.Date(2026, 12, 5, 14, 0, 0, 0, time.UTC)
	const records = 12000
	gen := gatewaysim.NewGenerator(7, start, time.Hour, records)
	gen.Edit(30 * time.Minute)
	rep, err := gatewaysim.Run(context.Background(), gen, gatewaysim.Options{URL: c.URL, Token: token, Records: records, Batch: 500, Workers: 4})
	require.NoError(t, err)
	require.Equal(t, records, rep.Accepted, rep.String())
	hostile := fmt.Sprintf(`{"request_id":"hostile-1","policy_id":%q,"policy_version":"2026-12-05.3-r2","decision":"deny","reason_code":"INJECTION","policy_user":%q,"project_id":%q,"model":%q,"created_at":"2026-12-05T14:45:00.100Z"}`,
		gatewaysim.EditedPolicy, hostileImg, hostileSVG, hostileScript)
	status, _, answer, err := harness.PostAnswer(c.URL, token, []byte(hostile))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status, answer)
	waitStored(t, c, records+1)

	stats := apiJSON(t, c.Query+"/api/v1/stats?since=2026-12-05T00:00:00Z")
	edit := c.QueryRecords(t, token, "/admin/api/v1/audit?days=100000&limit=1000")
	var editTime, editID string
	for _, e := range edit {
		if e["action"] == "policy.update" {
			require.Empty(t, editID, "the span has one policy change")
			editTime, editID = e["created_at"].(string), e["event_id"].(string)
		}
	}
	require.Equal(t, "2026-12-05T14:30:00.000Z", editTime)

	// Without a token the content is refused: the shell holds no record.
	resp, err := http.Get(c.Query + "/console/fragment/timeline")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	resp, err = http.Get(c.Query + "/")
	require.NoError(t, err)
	shell, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Contains(t, resp.Header.Get("Content-Security-Policy"), "script-src 'self';")
	assert.NotContains(t, string(shell), "<script>", "no inline script")
	resp, err = http.Post(c.Query+"/", "text/plain", strings.NewReader("x"))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode, "GET only")

	b := newBrowser(t, chromium)
	shots := filepath.Join(harness.Root, "bin", "screenshots")
	require.NoError(t, os.MkdirAll(shots, 0o750))

	// The token, entered once, opens the timeline.
	b.run(chromedp.Navigate(c.Query+"/"), chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.SendKeys(chromedp.CSS("#token"), token), chromedp.Click(chromedp.CSS("#token-form button")), chromedp.WaitVisible(chromedp.CSS("#verdict-totals")))
	totals := evaluate[map[string]float64](b, `Object.fromEntries([...document.querySelectorAll("#verdict-totals tr[data-verdict]")].map(r => [r.dataset.verdict, Number(r.dataset.total)]))`)
	want := map[string]float64{}
	for v, n := range stats["decision"].(map[string]any) {
		want[v] = n.(float64)
	}
	assert.Equal(t, want, totals, "the timeline's counts per verdict are the store's stats")
	drawn := evaluate[float64](b, `[...document.querySelectorAll("rect.bar")].reduce((n, r) => n + Number(r.dataset.count), 0)`)
	assert.Equal(t, stats["total"], drawn, "every decision is drawn")
	b.screenshot(filepath.Join(shots, "console-timeline-all.png"))

	// Filtered to the edited policy: the edit is the one policy marker, at
	// its time on the axis, and the policy denies far more after it.
	b.run(chromedp.Navigate(c.Query+"/?policy_id="+gatewaysim.EditedPolicy), chromedp.WaitVisible(chromedp.CSS("#verdict-totals")))
	chart := evaluate[timelineView](b, `(() => {
		const svg = document.querySelector("#timeline"), range = document.querySelector("#range");
		const markers = [...svg.querySelectorAll("a.marker.policy")].map(m => ({action: m.dataset.action, time: m.dataset.time, id: m.dataset.eventId}));
		const line = svg.querySelector("a.marker.policy line");
		const grid = svg.querySelector("line.grid");
		const mx = line ? Number(line.getAttribute("x1")) : -1;
		const before = {}, after = {};
		for (const r of svg.querySelectorAll("rect.bar")) {
			const side = Number(r.getAttribute("x")) + Number(r.getAttribute("width")) <= mx ? before : after;
			side[r.dataset.verdict] = (side[r.dataset.verdict] || 0) + Number(r.dataset.count);
		}
		return {markers, markerX: mx, since: range.dataset.since, until: range.dataset.until,
			left: Number(grid.getAttribute("x1")), width: Number(grid.getAttribute("x2")) - Number(grid.getAttribute("x1")) - 14,
			before, after, observedShadow: svg.querySelector("rect.bar.observed") !== null};
	})()`)
	require.Len(t, chart.Markers, 1, "the edit is the range's one policy change")
	assert.Equal(t, map[string]string{"action": "policy.update", "time": editTime, "id": editID}, chart.Markers[0])
	since, _ := time.Parse(time.RFC3339, chart.Since)
	until, _ := time.Parse(time.RFC3339, chart.Until)
	at, _ := time.Parse(time.RFC3339, editTime)
	wantX := chart.Left + chart.Width*float64(at.Sub(since))/float64(until.Sub(since))
	assert.InDelta(t, wantX, chart.MarkerX, 0.5, "the marker sits at the edit's time on the axis")
	rate := func(m map[string]float64) float64 {
		total := 0.0
		for _, n := range m {
			total += n
		}
		return m["deny"] / total
	}
	t.Logf("%s deny rate before the edit %.1f%%, after %.1f%%", gatewaysim.EditedPolicy, 100*rate(chart.Before), 100*rate(chart.After))
	assert.Greater(t, rate(chart.After), 3*rate(chart.Before), "the deny rate jumps at the marker")
	assert.True(t, chart.ObservedShadow, "observed (shadow) verdicts are drawn apart")
	b.screenshot(filepath.Join(shots, "console-timeline.png"))

	// A correlation ID after the edit: search, its record page, the link
	// verified, and the edit listed among the changes to its policy.
	later := c.QueryRecords(t, token, "/api/v1/decisions?policy_id="+gatewaysim.EditedPolicy+"&since=2026-12-05T14:50:00Z&limit=1")
	require.Len(t, later, 1)
	cid, eventID := later[0]["correlation_id"].(string), later[0]["event_id"].(string)
	b.run(chromedp.Navigate(c.Query+"/search"), chromedp.WaitVisible(chromedp.CSS(`input[name="q"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="q"]`), cid), chromedp.Submit(chromedp.CSS(`input[name="q"]`)),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-event-id="`+eventID+`"]`)),
		chromedp.Click(chromedp.CSS(`tr[data-event-id="`+eventID+`"] a`)), chromedp.WaitVisible(chromedp.CSS("#link-check")))
	page := evaluate[recordView](b, `({url: location.pathname, linkOK: document.querySelector("#link-check").dataset.ok,
		canonical: document.querySelector("#canonical").textContent,
		changes: [...document.querySelectorAll("#policy-changes tr[data-event-id]")].map(r => r.dataset.eventId)})`)
	assert.Equal(t, "/records/"+eventID, page.URL)
	assert.Equal(t, "true", page.LinkOK, "the record's link verifies")
	assert.Contains(t, page.Canonical, `"correlation_id": "`+cid+`"`)
	assert.Equal(t, []string{editID}, page.Changes, "the edit is the change to its policy before it")
	b.screenshot(filepath.Join(shots, "console-record.png"))

	// Attacker strings render as text: searched by caller (the hostile
	// string itself), listed, and on the record page; no script runs.
	b.run(chromedp.Navigate(c.Query+"/search"), chromedp.WaitVisible(chromedp.CSS(`input[name="q"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="q"]`), hostileImg), chromedp.Submit(chromedp.CSS(`input[name="q"]`)),
		chromedp.WaitVisible(chromedp.CSS(`table.records`)), chromedp.Click(chromedp.CSS(`table.records tbody a`)), chromedp.WaitVisible(chromedp.CSS("#canonical")))
	hostilePage := evaluate[hostileView](b, `({text: document.querySelector("#page").textContent, pwned: window.__pwned === undefined ? null : window.__pwned,
		scripts: document.querySelectorAll("#page script").length, imgs: document.querySelectorAll("#page img").length,
		svgs: document.querySelectorAll("#page svg").length,
		handlers: [...document.querySelectorAll("#page *")].filter(e => [...e.attributes].some(a => a.name.startsWith("on"))).length})`)
	for _, s := range []string{hostileScript, hostileImg, hostileSVG} {
		assert.Contains(t, hostilePage.Text, s, "shown as text")
	}
	assert.Nil(t, hostilePage.Pwned, "no script ran")
	assert.Zero(t, hostilePage.Scripts+hostilePage.Imgs+hostilePage.SVGs+hostilePage.Handlers, "no element came from a record")
	b.screenshot(filepath.Join(shots, "console-hostile-record.png"))

	// Admin events and integrity.
	b.run(chromedp.Navigate(c.Query+"/admin?days=100000"), chromedp.WaitVisible(chromedp.CSS(`table.admin-events tr[data-event-id="`+editID+`"]`)))
	b.run(chromedp.Navigate(c.Query+"/integrity"), chromedp.WaitVisible(chromedp.CSS("#verification")))
	integrity := evaluate[integrityView](b, `({ok: document.querySelector("#verification").dataset.ok, anchored: document.querySelector("#verification").dataset.anchored,
		publicKey: document.querySelector("#public-key").textContent})`)
	pub, err := os.ReadFile(key.PublicKeyFile)
	require.NoError(t, err)
	assert.Equal(t, "true", integrity.OK)
	assert.Equal(t, "true", integrity.Anchored)
	assert.Equal(t, strings.TrimSpace(string(pub)), strings.TrimSpace(integrity.PublicKey))
	b.screenshot(filepath.Join(shots, "console-integrity.png"))
}

// waitStored waits until the store's verified chain holds n records.
func waitStored(t *testing.T, c *harness.Collector, n int) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(250 * time.Millisecond) {
		rep := apiJSON(t, c.Query+"/api/v1/verify")
		if rep["records"] == float64(n) {
			require.Equal(t, true, rep["ok"], rep)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("want %d records stored, the store verifies %v", n, rep)
		}
	}
}

func apiJSON(t *testing.T, url string) map[string]any {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, url)
	var out map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	return out
}

// chromiumBin is $CHROMIUM_BIN, or Chromium on the PATH (make tools
// installs Debian's).
func chromiumBin(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM_BIN"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("Chromium is needed for the console's browser test: make tools installs it (apt-get install chromium), or set CHROMIUM_BIN")
	return ""
}

// browser is a headless Chromium tab.
type browser struct {
	t   *testing.T
	ctx context.Context
}

func newBrowser(t *testing.T, bin string) *browser {
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(bin), chromedp.NoSandbox,
		chromedp.Flag("headless", "new"), chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(1280, 900))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// The first run starts the browser, which lives as long as that run's
	// context: no deadline here, one per action after.
	require.NoError(t, chromedp.Do(ctx), "starting %s", bin)
	return &browser{t: t, ctx: ctx}
}

// run runs actions with a deadline; on failure it says where the page was.
func (b *browser) run(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("browser: %v%s", err, b.where())
	}
}

// where is the page's address and text, for a failure's message.
func (b *browser) where() string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	at, _ := chromedp.Run(ctx, chromedp.Location())
	text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(0, 2000) : ""`))
	return "\nat " + at + ":\n" + text
}

// evaluate runs a JavaScript expression in the page and decodes its value.
func evaluate[T any](b *browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("browser: %v%s", err, b.where())
	}
	return v
}

func (b *browser) screenshot(path string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(b.t, err)
	require.NoError(b.t, os.WriteFile(path, png, 0o644))
	b.t.Logf("screenshot %s", path)
}

// What the test reads from the pages.
type (
	timelineView struct {
		Markers        []map[string]string `json:"markers"`
		MarkerX        float64             `json:"markerX"`
		Since          string              `json:"since"`
		Until          string              `json:"until"`
		Left           float64             `json:"left"`
		Width          float64             `json:"width"`
		Before         map[string]float64  `json:"before"`
		After          map[string]float64  `json:"after"`
		ObservedShadow bool                `json:"observedShadow"`
	}
	recordView struct {
		URL       string   `json:"url"`
		LinkOK    string   `json:"linkOK"`
		Canonical string   `json:"canonical"`
		Changes   []string `json:"changes"`
	}
	hostileView struct {
		Text     string `json:"text"`
		Pwned    any    `json:"pwned"`
		Scripts  int    `json:"scripts"`
		Imgs     int    `json:"imgs"`
		SVGs     int    `json:"svgs"`
		Handlers int    `json:"handlers"`
	}
	integrityView struct {
		OK        string `json:"ok"`
		Anchored  string `json:"anchored"`
		PublicKey string `json:"publicKey"`
	}
)
