// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // "pgx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	_ "modernc.org/sqlite" // "sqlite"

	"github.com/policyaudit/policyaudit/internal/record"
	"github.com/policyaudit/policyaudit/test/harness"
	"github.com/policyaudit/policyaudit/test/peers/pgpeer"
)

const (
	vaultKey   = "vault-key-0123456789abcdef"
	adminToken = "admin-token-0123456789abcdef"
	idKey      = "id-key-0123456789abcdef"
)

var tokenizeEnv = []string{"POLICYAUDIT_VAULT_KEY=" + vaultKey, "POLICYAUDIT_ADMIN_TOKEN=" + adminToken, "POLICYAUDIT_ID_KEY=" + idKey}

func tokenizeYAML() string { return filepath.Join(harness.Root, "config", "examples", "tokenize.yaml") }

// adminPost posts a subject request with the admin token.
func adminPost(t *testing.T, c *harness.Collector, path, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, c.Query+path, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, b
}

// adminSearch is the admin's search of decisions by a person's value.
func adminSearch(t *testing.T, c *harness.Collector, user string) []map[string]any {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, c.Query+"/api/v1/decisions?limit=100&user="+user, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var page struct {
		Records []struct {
			Record map[string]any `json:"record"`
		} `json:"records"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&page))
	var out []map[string]any
	for _, r := range page.Records {
		out = append(out, r.Record)
	}
	return out
}

// localFiles is every file the collector wrote: the audit store's database
// and write-ahead log, the journal, the queues.
func localFiles(t *testing.T, dir string) string {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		b.Write(data)
		return err
	}))
	return b.String()
}

// filesWith names the files under dir that hold one of needles.
func filesWith(t *testing.T, dir string, needles []string) []string {
	t.Helper()
	var out []string
	require.NoError(t, filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		for _, n := range needles {
			if bytes.Contains(data, []byte(n)) {
				out = append(out, path)
				break
			}
		}
		return err
	}))
	return out
}

func keyed(key, value string) string {
	h := hmac.New(sha256.New, []byte(key))
	h.Write([]byte(value))
	return hex.EncodeToString(h.Sum(nil))
}

// Issue 30's attack, on a SQLite store and on a shared PostgreSQL store:
// with tokenize.yaml on the all-destinations sidecar, no person's value
// reaches any destination, the collector's files (the vault included), the
// shared store's files or its log; after one person is erased (her e-mail
// and her API key, each a value of its own), nobody holding every key the
// collector holds can tie a record to her, the chain still verifies,
// anchored, and everyone else is still found.
func TestTokenizedSidecarForgetsAPerson(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) { tokenizedSidecarForgetsAPerson(t, backend) })
	}
}

func tokenizedSidecarForgetsAPerson(t *testing.T, backend string) {
	d := harness.StartDestinations(t)
	env := append(append([]string{}, tokenizeEnv...), d.Env...)
	configs := harness.SidecarConfigs(tokenizeYAML())
	storeFiles := func() string { return "" }
	storeDir := ""
	if backend == "postgres" {
		pg := pgpeer.Start(t)
		dsn := pg.CreateDatabase(t, "trail")
		env = append(env, "POLICYAUDIT_POSTGRES_DSN="+dsn, "POLICYAUDIT_CHAIN=sidecar-0")
		configs = harness.SidecarConfigs(filepath.Join(harness.Root, "test", "e2e", "testdata", "shared-store.yaml"), tokenizeYAML())
		storeFiles = func() string {
			db, err := sql.Open("pgx", dsn)
			require.NoError(t, err)
			defer db.Close()
			_, err = db.Exec(`CHECKPOINT`) // what the server holds in memory, on disk
			require.NoError(t, err)
			var oid int64
			require.NoError(t, db.QueryRow(`SELECT oid FROM pg_database WHERE datname = current_database()`).Scan(&oid))
			storeDir = filepath.Join(pg.DataDir(), "base", strconv.FormatInt(oid, 10))
			return localFiles(t, storeDir)
		}
	}
	c := harness.StartCollector(t, env, configs...)
	harness.PostFixtures(t, c.URL, harness.ReceiverToken)
	status, _, err := harness.Post(c.URL, harness.ReceiverToken, []byte(piiLine))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)

	n := len(harness.Expected(t, harness.AllFixtureRecords...)) + 1
	download := t.TempDir()
	var s3Lines []string
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(time.Second) {
		s3Lines, _ = d.S3.Download(t, harness.S3Bucket, download)
		if len(s3Lines) >= n && len(d.HEC.Events(t)) >= n && len(d.ESDocs()) >= n && len(d.DD.Logs()) >= n && len(c.ByCorrelation(t, harness.ReceiverToken, "pii-1")) == 1 {
			break
		}
		require.False(t, time.Now().After(deadline), "not every destination got the records:\n%s", c.Log)
	}
	outputs := func() map[string]string {
		hecRaw, err := os.ReadFile(d.HEC.OutputPath())
		require.NoError(t, err)
		esRaw, _ := json.Marshal(d.ESDocs())
		ddRaw, _ := json.Marshal(d.DD.Logs())
		return map[string]string{"s3": strings.Join(s3Lines, "\n"), "splunk_hec": string(hecRaw), "elasticsearch": string(esRaw),
			"datadog": string(ddRaw), "local files": localFiles(t, c.DataDir), "collector log": c.Log.String(), "shared store": storeFiles()}
	}
	before := outputs()
	for dest, out := range before {
		for _, raw := range neverLeaves {
			assert.NotContains(t, out, raw, "%s holds a raw value", dest)
		}
	}
	rec := c.ByCorrelation(t, harness.ReceiverToken, "pii-1")[0]
	alice, aliceKey := rec["policy_user"].(string), rec["api_key_id"].(string)
	require.True(t, record.IsToken(alice), alice)
	require.True(t, record.IsToken(aliceKey), aliceKey)
	for _, dest := range []string{"s3", "splunk_hec", "elasticsearch", "datadog"} {
		assert.Contains(t, before[dest], alice, "one token in every destination: %s", dest)
	}
	require.Len(t, adminSearch(t, c, "alice@example.com"), 4, "the admin finds alice's decisions by her value")
	assert.Empty(t, c.QueryRecords(t, harness.ReceiverToken, "/api/v1/decisions?user=alice@example.com"), "a reader without the admin token searches by tokens only")
	bob := adminSearch(t, c, "user-777")
	require.NotEmpty(t, bob)
	verified := func() map[string]any {
		var rep map[string]any
		status, b := getJSON(t, c.Query+"/api/v1/verify")
		require.Equal(t, http.StatusOK, status)
		require.NoError(t, json.Unmarshal(b, &rep))
		return rep
	}
	rep := verified()
	assert.Equal(t, true, rep["ok"], rep)
	assert.Equal(t, true, rep["anchored"], rep)

	req, err := http.NewRequest(http.MethodPost, c.Query+"/admin/api/v1/subjects/erase", strings.NewReader(`{"subject":"alice@example.com","reason":"r","actor":"a"}`))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+harness.ReceiverToken)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, "the receiver's token erases nobody")

	status, body := adminPost(t, c, "/admin/api/v1/subjects/erase", `{"subject":"alice@example.com","reason":"GDPR art. 17","actor":"dpo@example.com"}`)
	require.Equal(t, http.StatusOK, status, string(body))
	assert.Contains(t, string(body), alice)
	assert.Contains(t, string(body), aliceKey, "her API key ID's token is named as related")
	status, body = adminPost(t, c, "/admin/api/v1/subjects/erase", `{"subject":"sk-proj-4f9Qz7LmT2xV8bN1cR6yW3kH","reason":"GDPR art. 17","actor":"dpo@example.com"}`)
	require.Equal(t, http.StatusOK, status, string(body))

	// The attacker holds the vault (the database), the vault key, the
	// id_key and every copy (the collector holds no hash key here: nothing
	// is hashed). Neither lookup is in any file; a derived event_id
	// recomputed with the value in place of the token is not the record's;
	// the values are nowhere.
	after := outputs()
	if backend == "postgres" {
		for _, value := range []string{"alice@example.com", "sk-proj-4f9Qz7LmT2xV8bN1cR6yW3kH"} {
			lookup := keyed(vaultKey, value)
			raw, _ := hex.DecodeString(lookup)
			for _, f := range filesWith(t, storeDir, []string{lookup, string(raw)}) {
				t.Errorf("%s holds the lookup of an erased value", f)
			}
		}
	}
	for _, value := range []string{"alice@example.com", "sk-proj-4f9Qz7LmT2xV8bN1cR6yW3kH"} {
		lookup := keyed(vaultKey, value)
		raw, _ := hex.DecodeString(lookup)
		for dest, out := range after {
			assert.NotContains(t, out, value, dest)
			assert.NotContains(t, out, lookup, dest)
			assert.NotContains(t, out, string(raw), dest)
		}
	}
	m := pcommon.NewMap()
	require.NoError(t, m.FromRaw(rec))
	assert.False(t, confirmsWithKey(m, "alice@example.com", []byte(idKey)), "the id_key and the value do not find her record")
	assert.Empty(t, adminSearch(t, c, "alice@example.com"), "a search for her finds nothing")
	assert.Len(t, adminSearch(t, c, "user-777"), len(bob), "everyone else is still found")
	assert.Equal(t, alice, c.ByCorrelation(t, harness.ReceiverToken, "pii-1")[0]["policy_user"], "her records keep their token: nothing was rewritten")
	rep = verified()
	assert.Equal(t, true, rep["ok"], rep)
	assert.Equal(t, true, rep["anchored"], rep)
}

// confirmsWithKey puts a guessed value back in place of the token and
// derives the event_id the way the collector does.
func confirmsWithKey(exp pcommon.Map, guess string, key []byte) bool {
	m := pcommon.NewMap()
	exp.CopyTo(m)
	m.PutStr("policy_user", guess)
	m.PutStr("event_id", "")
	rec, err := record.ReadHeader(m)
	if err != nil {
		return false
	}
	record.NewNamer(key).Name(rec, m)
	v, _ := exp.Get("event_id")
	return rec.EventID == v.Str()
}

// people are n users, each in records from every sender, in the sender's
// own order: the senders race to mint every person's token.
func people(sender, n int) [][]byte {
	order := rand.New(rand.NewPCG(uint64(sender), 7)).Perm(n)
	var bodies [][]byte
	var b bytes.Buffer
	for i, u := range order {
		fmt.Fprintf(&b, `{"policy_id":"p","decision":"allow","policy_user":"person-%04d@example.com","request_id":"u%04d-s%d","created_at":"2026-03-02T10:%02d:%02d.%03dZ"}`+"\n",
			u, u, sender, (i/60)%60, i%60, sender)
		if (i+1)%100 == 0 {
			bodies = append(bodies, append([]byte(nil), b.Bytes()...))
			b.Reset()
		}
	}
	return bodies
}

// sendPeople sends people(s, n) to each endpoint's sender concurrently.
func sendPeople(t *testing.T, endpoints []string, n int) {
	var wg sync.WaitGroup
	for s, endpoint := range endpoints {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, body := range people(s, n) {
				status, _, _, err := harness.PostNDJSON(endpoint, harness.ReceiverToken, body)
				if !assert.NoError(t, err) || !assert.Equal(t, http.StatusOK, status) {
					return
				}
			}
		}()
	}
	wg.Wait()
}

// tokensPerPerson reads every stored record's user column and the vault's
// size: each person must have exactly one token, and the vault as many.
func tokensPerPerson(t *testing.T, db *sql.DB, records int) {
	t.Helper()
	var stored int
	require.Eventually(t, func() bool {
		return db.QueryRow(`SELECT COUNT(*) FROM records`).Scan(&stored) == nil && stored >= records
	}, 120*time.Second, 500*time.Millisecond, "stored %d of %d", stored, records)
	rows, err := db.Query(`SELECT correlation_id, "user" FROM records`)
	require.NoError(t, err)
	defer rows.Close()
	tokenOf := map[string]map[string]bool{}
	distinct := map[string]bool{}
	for rows.Next() {
		var cid, user string
		require.NoError(t, rows.Scan(&cid, &user))
		person, _, _ := strings.Cut(cid, "-")
		if tokenOf[person] == nil {
			tokenOf[person] = map[string]bool{}
		}
		tokenOf[person][user] = true
		distinct[user] = true
		require.True(t, record.IsToken(user), user)
	}
	require.NoError(t, rows.Err())
	for person, toks := range tokenOf {
		assert.Len(t, toks, 1, "person %s has %d tokens", person, len(toks))
	}
	assert.Len(t, distinct, len(tokenOf))
	var vault int
	require.NoError(t, db.QueryRow(`SELECT COUNT(*) FROM vault`).Scan(&vault))
	assert.Equal(t, len(tokenOf), vault)
	t.Logf("%d records, %d people, %d distinct tokens, %d vault entries", stored, len(tokenOf), len(distinct), vault)
}

// 1,000 people, four senders, two pipelines of one sidecar on SQLite.
func TestOneTokenPerPersonAcrossPipelines(t *testing.T) {
	key := harness.NewSigningKey(t)
	second := harness.FreePort(t)
	examples := filepath.Join(harness.Root, "config", "examples")
	c := harness.StartCollector(t, append([]string{key.Env(), "POLICYAUDIT_RECEIVER_TOKEN=" + harness.ReceiverToken,
		"POLICYAUDIT_SECOND_ENDPOINT=127.0.0.1:" + strconv.Itoa(second)}, tokenizeEnv...),
		filepath.Join(examples, "common.yaml"), filepath.Join(examples, "auditstore.yaml"), tokenizeYAML(),
		filepath.Join(harness.Root, "test", "e2e", "testdata", "second-pipeline.yaml"))
	other := "http://127.0.0.1:" + strconv.Itoa(second) + "/v1/decisions"
	const n = 1000
	sendPeople(t, []string{c.URL + "/v1/decisions", c.URL + "/v1/decisions", other, other}, n)
	db, err := sql.Open("sqlite", "file:"+filepath.Join(c.DataDir, "audit.db")+"?mode=ro")
	require.NoError(t, err)
	defer db.Close()
	tokensPerPerson(t, db, 4*n)
}

// 1,000 people, four senders, two sidecars sharing one PostgreSQL store.
func TestOneTokenPerPersonAcrossAFleet(t *testing.T) {
	pg := pgpeer.Start(t)
	dsn := pg.CreateDatabase(t, "fleet")
	key := harness.NewSigningKey(t)
	examples := filepath.Join(harness.Root, "config", "examples")
	sidecar := func(chain string) *harness.Collector {
		return harness.StartCollector(t, append([]string{"POLICYAUDIT_RECEIVER_TOKEN=" + harness.ReceiverToken, key.Env(),
			"POLICYAUDIT_POSTGRES_DSN=" + dsn, "POLICYAUDIT_CHAIN=" + chain}, tokenizeEnv...),
			filepath.Join(examples, "common.yaml"), filepath.Join(examples, "postgres.yaml"), tokenizeYAML())
	}
	a, b := sidecar("sidecar-0"), sidecar("sidecar-1")
	const n = 1000
	sendPeople(t, []string{a.URL + "/v1/decisions", a.URL + "/v1/decisions", b.URL + "/v1/decisions", b.URL + "/v1/decisions"}, n)
	db, err := sql.Open("pgx", dsn)
	require.NoError(t, err)
	defer db.Close()
	tokensPerPerson(t, db, 4*n)

	// Erased through one sidecar, the person is found through neither.
	status, body := adminPost(t, a, "/admin/api/v1/subjects/erase", `{"subject":"person-0042@example.com","reason":"GDPR art. 17","actor":"dpo@example.com"}`)
	require.Equal(t, http.StatusOK, status, string(body))
	assert.Empty(t, adminSearch(t, b, "person-0042@example.com"))
	assert.NotEmpty(t, adminSearch(t, b, "person-0043@example.com"))
}

// tokenize.yaml with POLICYAUDIT_VAULT_KEY unset: the collector does not
// start, and says which key to fix.
func TestTokenizeWithoutAReachableVaultDoesNotStart(t *testing.T) {
	examples := filepath.Join(harness.Root, "config", "examples")
	cmd := exec.Command(harness.Bin(t), "--config", filepath.Join(examples, "common.yaml"), "--config", filepath.Join(examples, "auditstore.yaml"), "--config", tokenizeYAML())
	cmd.Env = append(os.Environ(), harness.NewSigningKey(t).Env(), "POLICYAUDIT_RECEIVER_TOKEN="+harness.ReceiverToken,
		"POLICYAUDIT_ID_KEY="+idKey, "POLICYAUDIT_ADMIN_TOKEN="+adminToken,
		"POLICYAUDIT_DATA_DIR="+t.TempDir(), "POLICYAUDIT_STORAGE_DIR="+t.TempDir(),
		"POLICYAUDIT_ENDPOINT=127.0.0.1:"+strconv.Itoa(harness.FreePort(t)), "POLICYAUDIT_HEALTH_ENDPOINT=127.0.0.1:"+strconv.Itoa(harness.FreePort(t)),
		"POLICYAUDIT_QUERY_ENDPOINT=127.0.0.1:"+strconv.Itoa(harness.FreePort(t)), "POLICYAUDIT_METRICS_PORT="+strconv.Itoa(harness.FreePort(t)),
		"POLICYAUDIT_DECISION_METRICS_ENDPOINT=127.0.0.1:"+strconv.Itoa(harness.FreePort(t)))
	done := make(chan []byte, 1)
	go func() { out, _ := cmd.CombinedOutput(); done <- out }()
	select {
	case out := <-done:
		assert.Contains(t, string(out), "pii.vault: the audit store auditstore keeps no vault: set its vault.key")
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("the collector started without the vault its tokenize rules need")
	}
}
