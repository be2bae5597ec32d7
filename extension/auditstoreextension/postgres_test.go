// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package auditstoreextension

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configopaque"

	"github.com/policyaudit/policyaudit/internal/signing"
	"github.com/policyaudit/policyaudit/test/peers/pgpeer"
)

// Two collectors on one shared PostgreSQL store: each appends to its own
// chain, and the API and console of either show the fleet's records and
// the integrity of every chain.
func TestTwoCollectorsShareOneTrail(t *testing.T) {
	dsn := pgpeer.Start(t).CreateDatabase(t, "fleet")
	priv, _, err := signing.GenerateKey()
	require.NoError(t, err)
	collector := func(chain string) func(*Config) {
		return func(c *Config) {
			c.Backend = BackendPostgres
			c.Postgres.DSN = configopaque.String(dsn)
			c.Postgres.Chain = chain
			c.Signing.Key = configopaque.String(priv)
		}
	}
	sidecarA, urlA, _ := startExporterWith(t, collector("sidecar-a"))
	sidecarB, urlB, _ := startExporterWith(t, collector("sidecar-b"))
	ctx := context.Background()
	require.NoError(t, sidecarA.ConsumeLogs(ctx, canonicalLogs(t, "router-verdicts.json", "admin-audit.ndjson")))
	require.NoError(t, sidecarB.ConsumeLogs(ctx, canonicalLogs(t, "gateway-flat.ndjson", "opa-decision-logs.json")))
	// A gateway's retry reaching the other replica is stored once.
	require.NoError(t, sidecarB.ConsumeLogs(ctx, canonicalLogs(t, "router-verdicts.json")))

	for _, url := range []string{urlA, urlB} {
		byCorrelation := records(t, url+"/api/v1/decisions?correlation_id=4bf92f3577b34da6a3ce929d0e0e4736")
		assert.Len(t, byCorrelation, 2, "a correlation ID is found through either collector")
		assert.Len(t, records(t, url+"/admin/api/v1/audit?days=100000&limit=50"), 3)
		status, rep := get(t, url+"/api/v1/verify")
		require.Equal(t, http.StatusOK, status)
		assert.Equal(t, true, rep["ok"], rep)
		assert.Equal(t, float64(14), rep["records"])
		assert.Len(t, rep["chains"], 2)
		_, _, page := fetch(t, url+"/console/fragment/integrity?verify=now")
		assert.Contains(t, page, `<tr data-chain="sidecar-a" data-ok="true">`)
		assert.Contains(t, page, `<tr data-chain="sidecar-b" data-ok="true">`)
	}
	status, row := get(t, urlA+"/api/v1/records/4ca636c1-55e4-417a-b1d8-4aceb67960d1")
	require.Equal(t, http.StatusOK, status)
	chain := row["chain"].(string)
	_, _, page := fetch(t, urlB+"/console/fragment/records/4ca636c1-55e4-417a-b1d8-4aceb67960d1")
	assert.Contains(t, page, "<dt>chain</dt><dd>"+chain+"</dd>")
	assert.Contains(t, page, `id="link-check" data-ok="true"`)
}
