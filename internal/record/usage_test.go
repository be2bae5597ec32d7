// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package record

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

func decode(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	require.NoError(t, dec.Decode(&m))
	return m
}

func TestUsageFromEveryInputForm(t *testing.T) {
	base := `"policy_id":"p","decision":"allow","created_at":"2026-03-02T10:00:00Z"`
	for name, c := range map[string]struct {
		in   string
		want map[string]any
	}{
		"the contract's usage object": {`{` + base + `,"usage":{"input_tokens":12,"output_tokens":30,"cost":0.0042,"currency":"eur","latency_ms":812.4,"status_code":200,"request_path":"/v1/chat/completions"}}`,
			map[string]any{"input_tokens": int64(12), "output_tokens": int64(30), "total_tokens": int64(42), "cost": 0.0042, "currency": "EUR", "latency_ms": int64(812), "status_code": int64(200), "request_path": "/v1/chat/completions"}},
		"OpenAI's names": {`{` + base + `,"prompt_tokens":5,"completion_tokens":7,"total_tokens":13,"response_cost":0.01}`,
			map[string]any{"input_tokens": int64(5), "output_tokens": int64(7), "total_tokens": int64(13), "cost": 0.01}},
		"OpenTelemetry GenAI and HTTP attributes": {`{` + base + `,"gen_ai.usage.input_tokens":3,"gen_ai.usage.output_tokens":4,"http.response.status_code":429,"url.path":"/v1/embeddings"}`,
			map[string]any{"input_tokens": int64(3), "output_tokens": int64(4), "total_tokens": int64(7), "status_code": int64(429), "request_path": "/v1/embeddings"}},
	} {
		t.Run(name, func(t *testing.T) {
			rec, err := Normalize(decode(t, c.in), Hints{})
			require.NoError(t, err)
			assert.Equal(t, c.want, rec.Usage)
			assert.Empty(t, rec.Extra, "usage's inputs are not kept twice")
			// Read back as a canonical record, unchanged.
			m := pcommon.NewMap()
			rec.CopyTo(m)
			back, err := ReadCanonical(m)
			require.NoError(t, err)
			assert.Equal(t, rec.Usage, back.Usage)
		})
	}
	rec, err := Normalize(decode(t, `{`+base+`}`), Hints{})
	require.NoError(t, err)
	assert.Nil(t, rec.Usage, "no usage given, none written")
}

func TestBadUsageIsASchemaError(t *testing.T) {
	base := `"policy_id":"p","decision":"allow","created_at":"2026-03-02T10:00:00Z"`
	for in, want := range map[string]string{
		`{` + base + `,"usage":{"input_tokens":-1}}`:      "usage.input_tokens",
		`{` + base + `,"usage":{"output_tokens":"many"}}`: "usage.output_tokens",
		`{` + base + `,"usage":{"cost":-0.5}}`:            "usage.cost",
		`{` + base + `,"usage":{"currency":"dollars"}}`:   "usage.currency",
		`{` + base + `,"usage":{"status_code":700}}`:      "usage.status_code",
	} {
		_, err := Normalize(decode(t, in), Hints{})
		assert.ErrorContains(t, err, want, in)
	}
	// Under a generic top-level name a value usage cannot take stays under
	// extra, as before usage existed: a gateway may mean something else.
	rec, err := Normalize(decode(t, `{`+base+`,"status_code":"200","currency":"dollars","cost":"high","input_tokens":4}`), Hints{})
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"input_tokens": int64(4)}, rec.Usage)
	assert.Equal(t, map[string]any{"status_code": "200", "currency": "dollars", "cost": "high"}, rec.Extra)
	// A canonical record whose usage holds what Normalize never writes is
	// not canonical: it is normalised again.
	m := pcommon.NewMap()
	rec, err = Normalize(decode(t, `{`+base+`,"input_tokens":1}`), Hints{})
	require.NoError(t, err)
	rec.CopyTo(m)
	u, _ := m.Get(FieldUsage)
	u.Map().PutStr("tokens", "1")
	_, err = ReadCanonical(m)
	assert.ErrorContains(t, err, "usage.tokens: not a member of usage")
}
