// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"

	"github.com/policyaudit/policyaudit/test/harness"
)

const token = "receiver-token"

func getJSON(t *testing.T, url string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, b
}

// invalidUTF8Logs are OTLP log records whose bodies carry invalid UTF-8: a
// map body with a bad string and key, a JSON text body with a bad byte, and
// a body over 16 KiB cut in the middle of multi-byte characters.
func invalidUTF8Logs() plog.Logs {
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	m := lrs.AppendEmpty().Body().SetEmptyMap()
	m.PutStr("policy_id", "utf8-map")
	m.PutStr("decision", "deny")
	m.PutStr("created_at", "2026-03-02T10:00:00Z")
	m.PutStr("policy_user", "user-\xff\xfe")
	m.PutStr("note\xc3", "half a character")
	lrs.AppendEmpty().Body().SetStr(`{"policy_id":"utf8-text","decision":"deny","created_at":"2026-03-02T10:00:01Z","policy_user":"u-` + "\xff" + `"}`)
	lrs.AppendEmpty().Body().SetStr(`{"policy_id":"long","decision":"nope","note":"` + strings.Repeat("漢", 6000) + `"}`)
	return ld
}

// Issue 17, parts 2 and 3 end to end: the audit-store sidecar with a
// signing key takes records from the receiver, from OTLP and from filelog,
// invalid UTF-8 and a cut multi-byte string among them; the running store's
// verification is anchored, the signed head it serves and logs verifies
// offline with the public key, and the file verifies against it.
func TestSignedChainWithInvalidUTF8ThroughOTLPAndFilelog(t *testing.T) {
	key := harness.NewSigningKey(t)
	logFile := filepath.Join(t.TempDir(), "gateway.log")
	lines := []string{
		`{"policy_id":"file-ok","decision":"allow","created_at":"2026-03-02T10:00:02Z","request_id":"f-1"}`,
		`{"policy_id":"file-bad","decision":"deny","created_at":"2026-03-02T10:00:03Z","policy_user":"` + "\xff\xfe" + `"}`,
		"not json at all \xff",
	}
	require.NoError(t, os.WriteFile(logFile, []byte(strings.Join(lines, "\n")+"\n"), 0o600))
	otlpPort := harness.FreePort(t)
	examples := filepath.Join(harness.Root, "config", "examples")
	c := harness.StartCollector(t, []string{
		"POLICYAUDIT_RECEIVER_TOKEN=" + token, key.Env(),
		"POLICYAUDIT_OTLP_ENDPOINT=127.0.0.1:" + strconv.Itoa(otlpPort),
		"POLICYAUDIT_FILELOG_PATH=" + logFile,
	}, filepath.Join(examples, "common.yaml"), filepath.Join(examples, "auditstore.yaml"),
		filepath.Join(harness.Root, "test", "e2e", "testdata", "otlp-filelog.yaml"))
	assert.Contains(t, c.Log.String(), `"key_id": "`+key.Signer.KeyID()+`"`)

	harness.PostFixtures(t, c.URL, token)
	body, err := plogotlp.NewExportRequestFromLogs(invalidUTF8Logs()).MarshalProto()
	require.NoError(t, err)
	resp, err := http.Post("http://127.0.0.1:"+strconv.Itoa(otlpPort)+"/v1/logs", "application/x-protobuf", bytes.NewReader(body))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	want := len(harness.Expected(t, harness.AllFixtureRecords...)) + 3 + len(lines)
	var rep map[string]any
	var last string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		status, b := getJSON(t, c.Query+"/api/v1/verify")
		last = strconv.Itoa(status) + " " + string(b)
		rep = map[string]any{}
		if status == http.StatusOK && json.Unmarshal(b, &rep) == nil && rep["records"] == float64(want) {
			break
		}
		if time.Now().After(deadline) {
			var ids []string
			for _, r := range c.StoredDecisions(t, token) {
				ids = append(ids, fmt.Sprint(r["policy_id"], r["schema_error"], r["event_id"]))
			}
			t.Fatalf("want %d records stored; the last verification: %s\n%s\n%s", want, last, strings.Join(ids, "\n"), c.Log)
		}
	}
	assert.Equal(t, true, rep["ok"], rep)
	assert.Equal(t, true, rep["anchored"], rep)
	assert.Equal(t, key.Signer.KeyID(), rep["key_id"])

	// The cut string ends on a character boundary, and the bad bytes are
	// U+FFFD everywhere.
	stored := c.QueryRecords(t, token, "/api/v1/decisions?policy_id=utf8-map")
	require.Len(t, stored, 1)
	assert.Regexp(t, "^user-\uFFFD+$", stored[0]["policy_user"])

	c.Stop(t) // signs the head at shutdown
	assert.Contains(t, c.Log.String(), "Audit store head signed")
	db := filepath.Join(c.DataDir, "audit.db")
	c.Restart(t)
	status, head := getJSON(t, c.Query+"/api/v1/head")
	require.Equal(t, http.StatusOK, status, string(head))
	c.Stop(t)
	headFile := filepath.Join(t.TempDir(), "head.json")
	require.NoError(t, os.WriteFile(headFile, head, 0o600))
	var sh struct {
		Statement struct {
			Seq int `json:"seq"`
		} `json:"statement"`
	}
	require.NoError(t, json.Unmarshal(head, &sh))
	assert.Equal(t, want, sh.Statement.Seq, "the shutdown signed the last record")

	out, err := exec.Command("go", "run", "../../cmd/policyaudit", "verify", "--public-key", key.PublicKeyFile, "--signed-head", headFile, db).CombinedOutput()
	require.NoError(t, err, string(out))
	assert.Contains(t, string(out), "ok: "+strconv.Itoa(want)+" records")
	assert.Contains(t, string(out), "anchored by key "+key.Signer.KeyID()+": signed head at seq "+strconv.Itoa(want)+"; 0 records after it unsigned")
}
