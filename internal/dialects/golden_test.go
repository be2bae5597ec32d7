// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package dialects_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/policyaudit/policyaudit/internal/dialect/admin"
	"github.com/policyaudit/policyaudit/internal/dialects"
	"github.com/policyaudit/policyaudit/internal/jsonbody"
	"github.com/policyaudit/policyaudit/internal/pdatajson"
	"github.com/policyaudit/policyaudit/internal/record"
	"github.com/policyaudit/policyaudit/internal/testfixtures"
)

var update = flag.Bool("update", false, "rewrite the expected canonical records under testdata/expected")

// expectedDir holds the canonical JSON lines each fixture normalises to
// (also what the end-to-end tests expect in the export files).
var expectedDir = filepath.Join(testfixtures.Root, "testdata", "expected")

// unkeyed names records as the processor does without an id_key.
var unkeyed = record.NewNamer(nil)

func normalizeFixture(t testing.TB, name string) []*record.Record {
	t.Helper()
	d, ok := dialects.OfFixture(name)
	require.True(t, ok, "%s belongs to no registered dialect", name)
	body, err := os.ReadFile(filepath.Join(testfixtures.Dir, name))
	require.NoError(t, err)
	recs, err := dialects.NormalizeBody(d, body)
	require.NoError(t, err, name)
	for _, r := range recs {
		m := pcommon.NewMap()
		r.CopyTo(m)
		unkeyed.Name(r, m)
	}
	return recs
}

func canonicalJSON(r *record.Record) []byte {
	m := pcommon.NewMap()
	r.CopyTo(m)
	return pdatajson.AppendMap(nil, m)
}

// Every registered dialect has fixtures, and each fixture normalises to its
// golden file, testdata/expected/<fixture>.jsonl.
func TestFixturesGolden(t *testing.T) {
	for _, d := range dialects.All {
		assert.NotEmpty(t, d.Fixtures, "dialect %s has no fixture under testdata/fixtures", d.Name)
		for _, name := range d.Fixtures {
			t.Run(d.Name+"/"+name, func(t *testing.T) {
				var got bytes.Buffer
				for _, r := range normalizeFixture(t, name) {
					got.Write(canonicalJSON(r))
					got.WriteByte('\n')
				}
				path := filepath.Join(expectedDir, strings.TrimSuffix(name, filepath.Ext(name))+".jsonl")
				if *update {
					require.NoError(t, os.WriteFile(path, got.Bytes(), 0o600))
				}
				want, err := os.ReadFile(path)
				require.NoError(t, err, "the golden file of %s (go test ./internal/dialects/ -update writes it)", name)
				assert.Equal(t, string(want), got.String())
			})
		}
	}
}

// Every fixture file belongs to a registered dialect.
func TestEveryFixtureHasADialect(t *testing.T) {
	for _, pattern := range []string{"*.json", "*.ndjson"} {
		files, err := filepath.Glob(filepath.Join(testfixtures.Dir, pattern))
		require.NoError(t, err)
		for _, f := range files {
			_, ok := dialects.OfFixture(filepath.Base(f))
			assert.True(t, ok, "%s is in no dialect's Fixtures", filepath.Base(f))
		}
	}
}

// Normalising a canonical record again must give the same record: records go
// through the receiver and then the processor.
func TestNormalizeIsIdempotent(t *testing.T) {
	for _, d := range dialects.All {
		for _, name := range d.Fixtures {
			for _, r := range normalizeFixture(t, name) {
				first := canonicalJSON(r)
				var obj map[string]any
				dec := json.NewDecoder(bytes.NewReader(first))
				dec.UseNumber()
				require.NoError(t, dec.Decode(&obj))
				again, err := record.Normalize(obj, record.Hints{})
				require.NoError(t, err)
				assert.JSONEq(t, string(first), string(canonicalJSON(again)), name)
			}
		}
	}
}

// A body that came without an endpoint (OTLP, filelog) is read in the
// dialect its detector recognises, else as the contract's own: every
// endpoint's fixture reads the same either way (the admin fixture with the
// event name OTLP gives admin events).
func TestNormalizeDetectsGatewayPayloads(t *testing.T) {
	for _, d := range dialects.All {
		if d.Path == "" {
			continue // pulled by its own receiver, never sent as a body
		}
		hints := record.Hints{}
		if d == &admin.Dialect {
			hints.EventName = record.EventNameAdmin
		}
		for _, name := range d.Fixtures {
			body, err := os.ReadFile(filepath.Join(testfixtures.Dir, name))
			require.NoError(t, err)
			want, err := dialects.NormalizeBody(d, body)
			require.NoError(t, err)
			var got []*record.Record
			require.NoError(t, jsonbody.Split(body, false, jsonbody.DefaultLimits, func(_ jsonbody.Position, obj jsonbody.Value) error {
				var gateway bool
				got, gateway, err = dialects.Normalize(got, obj, hints)
				require.NoError(t, err, name)
				assert.Equal(t, d.Detect != nil, gateway, name)
				return nil
			}))
			require.Len(t, got, len(want), name)
			for i := range want {
				assert.JSONEq(t, string(canonicalJSON(want[i])), string(canonicalJSON(got[i])), name)
			}
		}
	}
}

// A count that arrives as a pdata integer (an OTLP log body that is a map,
// not JSON text) counts as the number it is: a LiteLLM guardrail that masked
// entities redacted, whichever way its payload came.
func TestMaskedCountsFromOTLPMapBodies(t *testing.T) {
	body := pcommon.NewMap()
	require.NoError(t, body.FromRaw(map[string]any{
		"litellm_call_id": "c-1", "startTime": 1795420800.5, "status": "success",
		"guardrail_information": []any{map[string]any{
			"guardrail_name": "pii", "guardrail_status": "guardrail_intervened", "guardrail_mode": "pre_call",
			"masked_entity_count": map[string]any{"EMAIL_ADDRESS": int64(2)},
		}},
	}))
	recs, gateway, err := dialects.Normalize(nil, record.ValueOfMap(body), record.Hints{})
	require.NoError(t, err)
	require.True(t, gateway)
	require.Len(t, recs, 1)
	assert.Equal(t, record.DecisionRedact, recs[0].Decision)
}
