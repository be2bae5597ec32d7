// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package auditstoreextension

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/policyaudit/policyaudit/extension/auditstoreextension/internal/metadata"
	"github.com/policyaudit/policyaudit/internal/dialects"
	"github.com/policyaudit/policyaudit/internal/record"
	"github.com/policyaudit/policyaudit/internal/signing"
)

const fixtureDir = "../../testdata/fixtures"

// canonicalLogs normalises and names fixtures the way the receiver and the
// processor do.
func canonicalLogs(t *testing.T, names ...string) plog.Logs {
	t.Helper()
	namer := record.NewNamer(nil)
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for _, name := range names {
		body, err := os.ReadFile(filepath.Join(fixtureDir, name))
		require.NoError(t, err)
		d, ok := dialects.OfFixture(name)
		require.True(t, ok, name)
		recs, err := dialects.NormalizeBody(d, body)
		require.NoError(t, err)
		for _, r := range recs {
			appendCanonical(lrs, namer, r)
		}
	}
	return ld
}

// appendCanonical appends r as the processor writes it: a named canonical
// body with the log record's fields set.
func appendCanonical(lrs plog.LogRecordSlice, namer *record.Namer, r *record.Record) {
	lr := lrs.AppendEmpty()
	r.SetLogRecordFields(lr)
	body := lr.Body().SetEmptyMap()
	r.CopyTo(body)
	namer.Name(r, body)
}

var allFixtures = []string{"gateway-flat.ndjson", "router-verdicts.json", "admin-audit.ndjson", "opa-decision-logs.json"}

func get(t *testing.T, url string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	var body map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	return resp.StatusCode, body
}

func records(t *testing.T, url string) []map[string]any {
	t.Helper()
	status, body := get(t, url)
	require.Equal(t, http.StatusOK, status, body)
	var out []map[string]any
	for _, r := range body["records"].([]any) {
		out = append(out, r.(map[string]any)["record"].(map[string]any))
	}
	return out
}

func TestEveryFilterFindsThePostedRecords(t *testing.T) {
	exp, url := startExporter(t)
	require.NoError(t, exp.ConsumeLogs(context.Background(), canonicalLogs(t, allFixtures...)))

	for query, want := range map[string][]string{
		"correlation_id=req-shadow-1":                                   {"req-shadow-1"},
		"correlation_id=4bf92f3577b34da6a3ce929d0e0e4736":               {"4bf92f3577b34da6a3ce929d0e0e4736", "4bf92f3577b34da6a3ce929d0e0e4736"},
		"user=alice@example.com&decision=deny":                          {"4bf92f3577b34da6a3ce929d0e0e4736", "c0ffee00-0000-4000-8000-000000000001"},
		"effective_decision=allow&rollout_mode=shadow":                  {"req-shadow-1"},
		"policy_id=prompt-injection&policy_version=2026-03-01.2":        {"c0ffee00-0000-4000-8000-000000000004", "c0ffee00-0000-4000-8000-000000000001"},
		"model=claude-sonnet":                                           {"6b7def67-ae38-55f3-9b17-30d3bb1d8ef3"},
		"project_id=crm-assistant":                                      {"4bf92f3577b34da6a3ce929d0e0e4736"},
		"since=2026-01-17&until=2026-01-18":                             {"6b7def67-ae38-55f3-9b17-30d3bb1d8ef3", "req-shadow-1"},
		"since=2026-01-16T23:59:59.900Z&until=2026-01-17T00:00:00.100Z": {"4bf92f3577b34da6a3ce929d0e0e4736"},
		"policy_version=r2026.03.02-1&decision=allow":                   {"ec78f9f6-8f53-53ce-88cd-1c9f0f639649"},
	} {
		var got []string
		for _, r := range records(t, url+"/api/v1/decisions?"+query) {
			assert.Equal(t, "policy_decision", r["event_kind"])
			got = append(got, r["correlation_id"].(string))
		}
		assert.Equal(t, want, got, query)
	}

	// Newest first, pages by cursor, 14 decisions in pages of 5.
	var seen []string
	next := ""
	for i := 0; i < 5; i++ {
		status, body := get(t, url+"/api/v1/decisions?limit=5&cursor="+next)
		require.Equal(t, http.StatusOK, status)
		for _, r := range body["records"].([]any) {
			seen = append(seen, r.(map[string]any)["record"].(map[string]any)["created_at"].(string))
		}
		next, _ = body["next_cursor"].(string)
		if next == "" {
			break
		}
	}
	assert.Len(t, seen, 11)
	assert.IsNonIncreasing(t, seen)

	status, body := get(t, url+"/api/v1/decisions?limit=100000")
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, float64(1000), body["limit"], "limit is capped at max_query_limit")
}

func TestRecordVerifyStatsAndAdmin(t *testing.T) {
	exp, url := startExporter(t)
	require.NoError(t, exp.ConsumeLogs(context.Background(), canonicalLogs(t, allFixtures...)))

	status, row := get(t, url+"/api/v1/records/4ca636c1-55e4-417a-b1d8-4aceb67960d1")
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, "jailbreak-filter", row["record"].(map[string]any)["policy_id"])
	assert.Regexp(t, `^[0-9a-f]{64}$`, row["hash"])
	status, _ = get(t, url+"/api/v1/records/no-such-event")
	assert.Equal(t, http.StatusNotFound, status)

	status, rep := get(t, url+"/api/v1/verify")
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, true, rep["ok"])
	assert.Equal(t, float64(14), rep["records"])

	status, st := get(t, url+"/api/v1/stats?since=2026-01-01")
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, float64(11), st["total"])
	assert.Equal(t, map[string]any{"allow": 3.0, "deny": 3.0, "escalate": 1.0, "modify": 2.0, "redact": 2.0}, st["decision"])
	assert.Equal(t, map[string]any{"canary": 1.0, "enforced": 9.0, "shadow": 1.0}, st["rollout_mode"])

	// The admin events of March 2026 are more than 7 days before today.
	assert.Empty(t, records(t, url+"/admin/api/v1/audit?days=7&limit=50"))
	admin := records(t, url+"/admin/api/v1/audit?days=100000&limit=2")
	require.Len(t, admin, 2)
	assert.Equal(t, "model.enable", admin[0]["action"], "newest first")
	assert.Equal(t, "key.revoke", admin[1]["action"])
	byCorrelation := records(t, url+"/admin/api/v1/audit?correlation_id=adm-0002")
	require.Len(t, byCorrelation, 1, "a correlation ID is found whatever its age")
	assert.Equal(t, "key.revoke", byCorrelation[0]["action"])
	assert.Empty(t, records(t, url+"/admin/api/v1/audit?correlation_id=adm-0002&days=7"))
}

func TestBadRequestsNameTheParameter(t *testing.T) {
	_, url := startExporter(t)
	for query, want := range map[string]string{
		"/api/v1/decisions?limit=0":                           `limit: "0" is not a positive integer`,
		"/api/v1/decisions?since=yesterday":                   `since: "yesterday" is not an RFC 3339 time or a YYYY-MM-DD date`,
		"/api/v1/decisions?polcy_id=x":                        "polcy_id: unknown parameter",
		"/api/v1/decisions?since=2026-02-01&until=2026-01-01": "until: must be after since",
		"/api/v1/decisions?cursor=zzz":                        "cursor: not a cursor from a previous page",
		"/admin/api/v1/audit?days=-1":                         `days: "-1" is not a positive integer`,
		"/api/v1/stats?since=soon":                            `since: "soon" is not`,
	} {
		status, body := get(t, url+query)
		assert.Equal(t, http.StatusBadRequest, status, query)
		assert.Contains(t, body["error"], want, query)
	}
	status, _ := get(t, url+"/api/v1/nothing")
	assert.Equal(t, http.StatusNotFound, status)
	resp, err := http.Post(url+"/api/v1/decisions", "application/json", nil)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
}

func TestReplayIsStoredOnceAndElasticLayoutIsRead(t *testing.T) {
	exp, url := startExporter(t)
	ld := canonicalLogs(t, "router-verdicts.json")
	require.NoError(t, exp.ConsumeLogs(context.Background(), ld))
	require.NoError(t, exp.ConsumeLogs(context.Background(), ld))

	// The same record in the elastic layout is the same event.
	doc := plog.NewLogs()
	lr := doc.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	m := lr.Body().SetEmptyMap()
	m.PutStr("@timestamp", "2026-03-02T09:15:00.000Z")
	ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Body().Map().CopyTo(m.PutEmptyMap("policy"))
	require.NoError(t, exp.ConsumeLogs(context.Background(), doc))

	assert.Len(t, records(t, url+"/api/v1/decisions"), 4)
	_, rep := get(t, url+"/api/v1/verify")
	assert.Equal(t, float64(4), rep["records"])
}

func TestShutdownWithoutStart(t *testing.T) {
	e, err := newAuditStore(extensiontest.NewNopSettings(metadata.Type), createDefaultConfig())
	require.NoError(t, err)
	require.NoError(t, e.Shutdown(context.Background()))
	require.NoError(t, e.Shutdown(context.Background()))
}

func TestValidate(t *testing.T) {
	cfg := createDefaultConfig()
	cfg.Path = ""
	cfg.RetentionDays = -1
	cfg.MaxQueryLimit = 0
	cfg.Synchronous = "off"
	cfg.Signing = SigningConfig{KeyConfig: signing.KeyConfig{KeyFile: "k.pem", Key: "pem"}, EveryRecords: -1, Required: true}
	err := cfg.Validate()
	for _, want := range []string{"path: must not be empty", "retention_days: must be 0", "max_query_limit: must be positive",
		`synchronous: "off" is not one of full, normal`, "signing.key_file and signing.key: give one",
		"signing.every_records: must be 0", "signing.interval: must be at least 1s"} {
		assert.ErrorContains(t, err, want)
	}
	cfg = createDefaultConfig()
	cfg.Backend = BackendPostgres
	cfg.Postgres.MaxConns = 1
	err = cfg.Validate()
	assert.ErrorContains(t, err, "postgres.dsn: must not be empty")
	assert.ErrorContains(t, err, "postgres.max_conns: must be at least 2")
	cfg.Backend = "mysql"
	assert.ErrorContains(t, cfg.Validate(), `backend: "mysql" is not one of sqlite, postgres`)
}

// Tampering with the database file under a running store is reported by the
// API's verification, naming the first bad seq.
func TestVerifyAPIReportsTampering(t *testing.T) {
	exp, url, path := startExporterAt(t)
	require.NoError(t, exp.ConsumeLogs(context.Background(), canonicalLogs(t, allFixtures...)))
	for _, tc := range []struct {
		stmt string
		bad  float64
	}{
		{`UPDATE records SET record = replace(record, '"deny"', '"allow"') WHERE seq = 4`, 4},
		{`DELETE FROM records WHERE seq = 2`, 2},
	} {
		tamper(t, path, tc.stmt)
		status, rep := get(t, url+"/api/v1/verify")
		require.Equal(t, http.StatusOK, status)
		assert.Equal(t, false, rep["ok"], tc.stmt)
		assert.Equal(t, tc.bad, rep["first_bad_seq"], tc.stmt)
		assert.NotEmpty(t, rep["problem"])
	}
}
