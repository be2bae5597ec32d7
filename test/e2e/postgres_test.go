// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"encoding/json"
	"net/http"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/policyaudit/policyaudit/test/harness"
	"github.com/policyaudit/policyaudit/test/peers/pgpeer"
)

// Two sidecars of config/examples/postgres.yaml on one real PostgreSQL,
// which is restarted as after a crash (pg_ctl restart -m immediate) while
// both take records: every acknowledged record is stored exactly once, a
// record posted to either sidecar is found through the API of the other,
// and `policyaudit verify --postgres` proves both chains and the registry.
func TestSidecarsShareOnePostgresTrail(t *testing.T) {
	pg := pgpeer.Start(t)
	dsn := pg.CreateDatabase(t, "fleet")
	key := harness.NewSigningKey(t)
	examples := filepath.Join(harness.Root, "config", "examples")
	sidecar := func(chain string) *harness.Collector {
		return harness.StartCollector(t, []string{"POLICYAUDIT_RECEIVER_TOKEN=" + token, key.Env(),
			"POLICYAUDIT_POSTGRES_DSN=" + dsn, "POLICYAUDIT_CHAIN=" + chain},
			filepath.Join(examples, "common.yaml"), filepath.Join(examples, "postgres.yaml"))
	}
	sidecars := []*harness.Collector{sidecar("sidecar-0"), sidecar("sidecar-1")}

	const batches, batch = 20, 250
	var wg sync.WaitGroup
	acked := make([]int, len(sidecars))
	for i, c := range sidecars {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				body := harness.Decisions("pg"+string(rune('a'+i)), b*batch, batch)
				status, _, err := harness.Post(c.URL, token, body)
				if assert.NoError(t, err) && assert.Equal(t, http.StatusOK, status) {
					acked[i] += batch
				}
				time.Sleep(50 * time.Millisecond)
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	require.NoError(t, pg.Restart("immediate"), pg.Log())
	wg.Wait()
	// One record both sidecars take: a gateway's retry to another replica.
	for _, c := range sidecars {
		status, _, err := harness.Post(c.URL, token, harness.Decisions("retry", 0, 1))
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, status)
	}
	want := float64(acked[0] + acked[1] + 1)

	var rep map[string]any
	require.Eventually(t, func() bool {
		status, b := getJSON(t, sidecars[1].Query+"/api/v1/verify")
		rep = map[string]any{}
		return status == http.StatusOK && json.Unmarshal(b, &rep) == nil && rep["records"] == want
	}, 90*time.Second, 500*time.Millisecond, "not every acknowledged record reached the shared store: %v\n%s", rep, sidecars[0].Log)
	assert.Equal(t, true, rep["ok"], rep)
	assert.Len(t, rep["chains"], 2)
	assert.Equal(t, []int{batches * batch, batches * batch}, acked, "every post was acknowledged")

	// Posted to sidecar-1, found through sidecar-0's API, and the other way.
	for i, c := range sidecars {
		cid := "pg" + string(rune('a'+1-i)) + "-req-7"
		found := c.ByCorrelation(t, token, cid)
		require.Len(t, found, 1, cid)
	}
	assert.Len(t, sidecars[0].ByCorrelation(t, token, "retry-req-0"), 1, "stored once")

	for _, c := range sidecars {
		c.Stop(t) // signs each chain's head
	}
	out, err := exec.Command("go", "run", "../../cmd/policyaudit", "verify", "--postgres", dsn, "--public-key", key.PublicKeyFile).CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "ok: 2 chains, ")
	assert.Contains(t, string(out), `chain "sidecar-0": ok`)
	assert.Contains(t, string(out), `chain "sidecar-1": ok`)
}
