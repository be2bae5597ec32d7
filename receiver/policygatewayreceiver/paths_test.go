// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package policygatewayreceiver

import (
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"

	"github.com/policyaudit/policyaudit/internal/dialect/admin"
	"github.com/policyaudit/policyaudit/internal/dialect/decisions"
	"github.com/policyaudit/policyaudit/internal/dialect/kong"
	"github.com/policyaudit/policyaudit/internal/dialect/litellm"
	"github.com/policyaudit/policyaudit/internal/dialect/opa"
	"github.com/policyaudit/policyaudit/internal/dialects"
)

// The endpoints the tests post to, as their dialects register them.
var (
	pathDecisions = decisions.Dialect.Path
	pathAudit     = admin.Dialect.Path
	pathOPALogs   = opa.Dialect.Path
	pathLiteLLM   = litellm.Dialect.Path
	pathKong      = kong.Dialect.Path
)

// Every registered dialect with an endpoint is served there, and the 404
// names each endpoint: a new dialect needs no change here.
func TestEveryDialectHasARoute(t *testing.T) {
	url := startReceiver(t, nil, new(consumertest.LogsSink))
	notFound := post(t, url+"/v1/nothing", "application/json", "", []byte(`{}`))
	assert.Equal(t, http.StatusNotFound, notFound.status)
	served := 0
	for _, d := range dialects.All {
		if d.Path == "" {
			continue
		}
		served++
		a := post(t, url+d.Path, "application/json", "", []byte(`[]`))
		assert.NotEqual(t, http.StatusNotFound, a.status, "%s: %s", d.Name, d.Path)
		assert.Contains(t, notFound.body["error"], d.Path)
	}
	assert.GreaterOrEqual(t, served, 5)
	assert.True(t, strings.HasPrefix(notFound.body["error"].(string), "no such endpoint; use /v1/decisions, "), notFound.body["error"])
}

// The README's endpoint table names every registered dialect's endpoint.
func TestREADMENamesEveryEndpoint(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	for _, d := range dialects.All {
		if d.Path != "" {
			assert.Contains(t, string(readme), "| `POST "+d.Path+"` |", d.Name)
		}
	}
}
