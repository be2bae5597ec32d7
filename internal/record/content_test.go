// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package record

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/policyaudit/policyaudit/internal/gatewaysim"
	"github.com/policyaudit/policyaudit/internal/pdatajson"
)

// assertContentMatchesTheMap: the content read from the record's fields is
// byte for byte the content encoded from its canonical map.
func assertContentMatchesTheMap(t testing.TB, r *Record) {
	t.Helper()
	m := pcommon.NewMap()
	r.CopyTo(m)
	want := pdatajson.AppendCanonicalMapWithout(nil, m, withoutIdentity)
	got, ok := r.appendContent(nil)
	require.True(t, ok, "%s", want)
	assert.Equal(t, string(want), string(got))
}

// TestContentMatchesTheMap over every record of the expected files (all
// dialects and both kinds, event_id and correlation_id both set and
// emptied) and the simulator's mix.
func TestContentMatchesTheMap(t *testing.T) {
	files, err := filepath.Glob("../../testdata/expected/*.jsonl")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	n := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, line := range splitLines(data) {
			var raw map[string]any
			require.NoError(t, json.Unmarshal(line, &raw))
			m := pcommon.NewMap()
			require.NoError(t, m.FromRaw(raw))
			r, err := ReadCanonical(m)
			if err != nil {
				continue // a flagged or changed record: not canonical
			}
			assertContentMatchesTheMap(t, r)
			r.EventID, r.CorrelationID, r.CorrelationGenerated = "", "", false
			assertContentMatchesTheMap(t, r)
			n++
		}
	}
	g := gatewaysim.NewGenerator(3, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Hour, 2000)
	for i := range 2000 {
		d := []gatewaysim.Dialect{gatewaysim.Flat, gatewaysim.Router, gatewaysim.OPA, gatewaysim.Admin}[i%4]
		var raw map[string]any
		require.NoError(t, json.Unmarshal(g.Append(nil, d), &raw))
		hints := Hints{}
		if d == gatewaysim.OPA {
			hints.Kind = KindDecision
		}
		r, err := Normalize(raw, hints)
		if err != nil {
			continue
		}
		assertContentMatchesTheMap(t, r)
		n++
	}
	t.Logf("%d records compared", n)
	assert.Greater(t, n, 1000)
}

// splitLines returns data's non-empty lines.
func splitLines(data []byte) [][]byte {
	var out [][]byte
	for line := range bytes.Lines(data) {
		if line = bytes.TrimSuffix(line, []byte("\n")); len(line) > 0 {
			out = append(out, line)
		}
	}
	return out
}

// FuzzContent: for any object that normalises, the content read from the
// record's fields is the content encoded from its map.
func FuzzContent(f *testing.F) {
	files, _ := filepath.Glob("../../testdata/fixtures/*.ndjson")
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		for _, line := range splitLines(data) {
			f.Add(line)
		}
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		var raw map[string]any
		if json.Unmarshal(line, &raw) != nil {
			return
		}
		for _, h := range []Hints{{}, {Kind: KindDecision}, {Kind: KindAdmin}} {
			if r, err := Normalize(raw, h); err == nil {
				assertContentMatchesTheMap(t, r)
			}
		}
	})
}

// BenchmarkContent: the event_id's content read from the record's fields
// against encoded from its canonical map (what Name did before), one op a
// flat-dialect record.
func BenchmarkContent(b *testing.B) {
	g := gatewaysim.NewGenerator(1, time.Date(2026, 3, 1, 23, 30, 0, 0, time.UTC), time.Hour, 1000)
	recs := make([]*Record, 1000)
	maps := make([]pcommon.Map, 1000)
	for i := range recs {
		var raw map[string]any
		if err := json.Unmarshal(g.Append(nil, gatewaysim.Flat), &raw); err != nil {
			b.Fatal(err)
		}
		r, err := Normalize(raw, Hints{})
		if err != nil {
			b.Fatal(err)
		}
		recs[i], maps[i] = r, pcommon.NewMap()
		r.CopyTo(maps[i])
	}
	buf := make([]byte, 0, 4096)
	b.Run("fields", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			buf, _ = recs[i%len(recs)].appendContent(buf[:0])
		}
	})
	b.Run("map", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			buf = pdatajson.AppendCanonicalMapWithout(buf[:0], maps[i%len(maps)], withoutIdentity)
		}
	})
}

// TestNameCanonicalIsName: reading the content from the fields derives the
// IDs that encoding the map does, keyed or not, with a correlation_id or
// without.
func TestNameCanonicalIsName(t *testing.T) {
	g := gatewaysim.NewGenerator(5, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.Hour, 400)
	for _, key := range [][]byte{nil, []byte("0123456789abcdef0123456789abcdef")} {
		namer := NewNamer(key)
		for i := range 400 {
			d := []gatewaysim.Dialect{gatewaysim.Flat, gatewaysim.Router, gatewaysim.Admin}[i%3]
			var raw map[string]any
			require.NoError(t, json.Unmarshal(g.Append(nil, d), &raw))
			if i%2 == 0 {
				delete(raw, "request_id")
				delete(raw, "correlation_id")
			}
			r, err := Normalize(raw, Hints{})
			require.NoError(t, err)
			a, b := *r, *r
			ma, mb := pcommon.NewMap(), pcommon.NewMap()
			a.CopyTo(ma)
			b.CopyTo(mb)
			namer.Name(&a, ma)
			namer.NameCanonical(&b, mb)
			require.Equal(t, a.EventID, b.EventID)
			require.Equal(t, a.CorrelationID, b.CorrelationID)
			require.True(t, ma.Equal(mb))
		}
	}
}
