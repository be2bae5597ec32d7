// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package auditstoreextension

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/policyaudit/policyaudit/internal/record"
	"github.com/policyaudit/policyaudit/internal/signing"
)

const adminToken = "admin-token-0123456789"

// request sends a request, with the admin token when admin is set.
func request(t *testing.T, method, url, body string, admin bool) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	if admin {
		req.Header.Set("Authorization", "Bearer "+adminToken)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var b bytes.Buffer
	_, err = b.ReadFrom(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, b.Bytes()
}

// correlationIDs of a page of records.
func correlationIDs(t *testing.T, body []byte) []string {
	t.Helper()
	var page struct {
		Records []struct {
			Record map[string]any `json:"record"`
		} `json:"records"`
	}
	require.NoError(t, json.Unmarshal(body, &page), string(body))
	var out []string
	for _, r := range page.Records {
		out = append(out, r.Record["correlation_id"].(string))
	}
	return out
}

// tokenised stores decisions and an admin event about alice and bob, with
// the tokens the vault gives them, as the processor's tokenize writes them.
func tokenised(t *testing.T, st *auditStore) map[string]string {
	t.Helper()
	toks, err := st.Tokenize(context.Background(), []string{"alice@example.com", "bob@example.com"})
	require.NoError(t, err)
	namer := record.NewNamer([]byte("id-key-0123456789abcdef"))
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	at := time.Now().UTC().Truncate(time.Millisecond)
	for i, user := range []string{toks[0], toks[1], toks[0]} {
		appendCanonical(lrs, namer, &record.Record{Kind: record.KindDecision, CreatedAt: at.Add(time.Duration(i) * time.Second),
			CorrelationID: "req-" + string(rune('a'+i)), Decision: "deny", EffectiveDecision: "deny", RolloutMode: "enforced", Enforced: true,
			ReasonCode: "PII", PolicyID: "p", PolicyVersion: "3", PolicyUser: user})
	}
	appendCanonical(lrs, namer, &record.Record{Kind: record.KindAdmin, CreatedAt: at, CorrelationID: "adm-1",
		Actor: record.Actor{ID: toks[0], Type: "user"}, Action: "policy.update", Resource: record.Resource{Type: "policy", ID: "p"}, Outcome: "success"})
	require.NoError(t, newExporterOf(t, st).ConsumeLogs(context.Background(), ld))
	return map[string]string{"alice": toks[0], "bob": toks[1]}
}

func TestAPersonIsFoundExportedAndErasedByTheAdminOnly(t *testing.T) {
	priv, _, err := signing.GenerateKey()
	require.NoError(t, err)
	st := startStore(t, func(c *Config) {
		c.Vault.Key = "vault-key-0123456789"
		c.Admin.Token = adminToken
		c.Signing.Key = configopaque.String(priv)
	})
	url := "http://" + st.addr
	toks := tokenised(t, st)

	// Without the admin token a value finds nothing; with it, its token's records.
	_, body := request(t, http.MethodGet, url+"/api/v1/decisions?user=alice@example.com", "", false)
	assert.Empty(t, correlationIDs(t, body))
	_, body = request(t, http.MethodGet, url+"/api/v1/decisions?user=alice@example.com", "", true)
	assert.Equal(t, []string{"req-c", "req-a"}, correlationIDs(t, body))
	_, body = request(t, http.MethodGet, url+"/api/v1/decisions?policy_user=alice@example.com", "", true)
	assert.Equal(t, []string{"req-c", "req-a"}, correlationIDs(t, body), "policy_user is an alias of user")
	_, body = request(t, http.MethodGet, url+"/api/v1/decisions?user="+toks["bob"], "", false)
	assert.Equal(t, []string{"req-b"}, correlationIDs(t, body), "a token is searched as given by anyone")
	_, body = request(t, http.MethodGet, url+"/admin/api/v1/audit?user=alice@example.com", "", true)
	assert.Equal(t, []string{"adm-1"}, correlationIDs(t, body), "as actor")

	// The console's search too: a value finds the token's records for the admin only.
	_, page := request(t, http.MethodGet, url+"/console/fragment/search?q=alice%40example.com", "", true)
	assert.Contains(t, string(page), "req-a")
	_, page = request(t, http.MethodGet, url+"/console/fragment/search?q=alice%40example.com", "", false)
	assert.NotContains(t, string(page), "req-a")

	// The subject endpoints answer the admin only.
	for _, path := range []string{"/admin/api/v1/subjects/export", "/admin/api/v1/subjects/erase"} {
		status, _ := request(t, http.MethodPost, url+path, `{"subject":"alice@example.com","reason":"r","actor":"a"}`, false)
		assert.Equal(t, http.StatusForbidden, status, path)
		status, _ = request(t, http.MethodGet, url+path, "", true)
		assert.Equal(t, http.StatusMethodNotAllowed, status, path)
	}

	status, body := request(t, http.MethodPost, url+"/admin/api/v1/subjects/export", `{"subject":"alice@example.com"}`, true)
	require.Equal(t, http.StatusOK, status, string(body))
	lines := exportLines(t, body)
	require.Len(t, lines, 4, "three records about alice (two decisions, one admin event) and the summary")
	for _, l := range lines[:3] {
		assert.Contains(t, string(l["record"]), toks["alice"])
		assert.NotEmpty(t, l["hash"])
		assert.NotEmpty(t, l["prev_hash"])
	}
	var sum exportSummaryLine
	require.NoError(t, json.Unmarshal(lines[3]["summary"], &sum))
	assert.Equal(t, 3, sum.Records)
	assert.Equal(t, toks["alice"], sum.Token)
	assert.True(t, sum.Verification.OK)
	assert.NotEmpty(t, sum.PublicKey)

	status, body = request(t, http.MethodPost, url+"/admin/api/v1/subjects/erase", `{"subject":"alice@example.com","reason":"GDPR art. 17 request #4711","actor":"dpo@example.com"}`, true)
	require.Equal(t, http.StatusOK, status, string(body))
	var er struct {
		Token   string `json:"token"`
		EventID string `json:"event_id"`
		Records int    `json:"records"`
	}
	require.NoError(t, json.Unmarshal(body, &er))
	assert.Equal(t, toks["alice"], er.Token)
	assert.Equal(t, 3, er.Records, "the records keep the token, about nobody now")

	// Found no more, by anyone; bob still is; the chain verifies, signed.
	_, body = request(t, http.MethodGet, url+"/api/v1/decisions?user=alice@example.com", "", true)
	assert.Empty(t, correlationIDs(t, body))
	_, body = request(t, http.MethodGet, url+"/api/v1/decisions?user=bob@example.com", "", true)
	assert.Equal(t, []string{"req-b"}, correlationIDs(t, body))
	_, body = request(t, http.MethodGet, url+"/api/v1/verify", "", false)
	assert.Contains(t, string(body), `"ok":true`)
	_, body = request(t, http.MethodGet, url+"/api/v1/records/"+er.EventID, "", false)
	assert.Contains(t, string(body), `"action":"subject.erase"`)
	assert.Contains(t, string(body), toks["alice"])
	assert.Contains(t, string(body), "GDPR art. 17 request #4711")
	assert.NotContains(t, string(body), "alice@example.com")
	_, body = request(t, http.MethodGet, url+"/api/v1/head", "", false)
	assert.Contains(t, string(body), `"reason":"erasure"`, "the erasure is anchored at once")

	status, _ = request(t, http.MethodPost, url+"/admin/api/v1/subjects/erase", `{"subject":"alice@example.com","reason":"again","actor":"dpo@example.com"}`, true)
	assert.Equal(t, http.StatusNotFound, status, "erased already")

	// Nothing in the database or its log ties the value to the token.
	for _, f := range []string{st.cfg.Path, st.cfg.Path + "-wal"} {
		b, err := os.ReadFile(f)
		if os.IsNotExist(err) {
			continue
		}
		require.NoError(t, err)
		assert.False(t, bytes.Contains(b, []byte("alice@example.com")), f)
		assert.False(t, bytes.Contains(b, []byte(st.lookup("alice@example.com"))), f)
	}
}

type exportSummaryLine struct {
	Records      int    `json:"records"`
	Token        string `json:"token"`
	Verification struct {
		OK bool `json:"ok"`
	} `json:"verification"`
	PublicKey string `json:"public_key"`
}

func exportLines(t *testing.T, body []byte) []map[string]json.RawMessage {
	t.Helper()
	var out []map[string]json.RawMessage
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(sc.Bytes(), &l), sc.Text())
		out = append(out, l)
	}
	return out
}

func TestWithoutAnAdminTokenTheSubjectEndpointsRefuseEveryone(t *testing.T) {
	st := startStore(t, func(c *Config) { c.Vault.Key = "vault-key-0123456789" })
	status, _ := request(t, http.MethodPost, "http://"+st.addr+"/admin/api/v1/subjects/erase", `{"subject":"x","reason":"r","actor":"a"}`, true)
	assert.Equal(t, http.StatusForbidden, status)
}
