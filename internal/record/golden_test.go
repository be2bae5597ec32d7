package record_test

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

	"github.com/policyaudit/policyaudit/internal/jsonbody"
	"github.com/policyaudit/policyaudit/internal/pdatajson"
	"github.com/policyaudit/policyaudit/internal/record"
)

var update = flag.Bool("update", false, "rewrite the expected canonical records under testdata/expected")

// fixtureDir holds copies of the shared gateway fixtures; expectedDir the
// canonical JSON lines each normalises to (also what the end-to-end test
// expects in the export files).
const (
	fixtureDir  = "../../testdata/fixtures"
	expectedDir = "../../testdata/expected"
)

// Fixtures and the endpoint kind each is posted as.
var fixtures = map[string]string{
	"gateway-flat.ndjson":    "decisions",
	"router-verdicts.json":   "decisions",
	"admin-audit.ndjson":     "audit",
	"opa-decision-logs.json": "opa",
	"litellm-calls.ndjson":   "litellm",
	"litellm-audit.ndjson":   "litellm",
	"kong-http-log.json":     "kong",
}

func normalizeFixture(t testing.TB, name, kind string) []*record.Record {
	t.Helper()
	body, err := os.ReadFile(filepath.Join(fixtureDir, name))
	require.NoError(t, err)
	var out []*record.Record
	err = jsonbody.Split(body, false, jsonbody.DefaultLimits, func(pos jsonbody.Position, obj jsonbody.Value) error {
		dialect, ok := record.ParseDialect(kind)
		require.True(t, ok, kind)
		recs, nerr := record.NormalizeDialect(nil, dialect, obj)
		require.NoError(t, nerr, "%s %s", name, pos)
		for _, r := range recs {
			out = append(out, named(r))
		}
		return nil
	})
	require.NoError(t, err)
	return out
}

func canonicalJSON(r *record.Record) []byte {
	m := pcommon.NewMap()
	r.CopyTo(m)
	return pdatajson.AppendMap(nil, m)
}

func TestFixturesGolden(t *testing.T) {
	for name, kind := range fixtures {
		t.Run(name, func(t *testing.T) {
			var got bytes.Buffer
			for _, r := range normalizeFixture(t, name, kind) {
				got.Write(canonicalJSON(r))
				got.WriteByte('\n')
			}
			path := filepath.Join(expectedDir, strings.TrimSuffix(name, filepath.Ext(name))+".jsonl")
			if *update {
				require.NoError(t, os.WriteFile(path, got.Bytes(), 0o600))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.Equal(t, string(want), got.String())
		})
	}
}

// Normalising a canonical record again must give the same record: records go
// through the receiver and then the processor.
func TestNormalizeIsIdempotent(t *testing.T) {
	for name, kind := range fixtures {
		for _, r := range normalizeFixture(t, name, kind) {
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
