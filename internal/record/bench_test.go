// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package record_test

import (
	"encoding/json"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/policyaudit/policyaudit/internal/dialect/opa"
	"github.com/policyaudit/policyaudit/internal/gatewaysim"
	"github.com/policyaudit/policyaudit/internal/jsonbody"
	"github.com/policyaudit/policyaudit/internal/record"
)

// BenchmarkNormalize: one record per op, decoded JSON in, canonical pdata
// map out, per dialect.
func BenchmarkNormalize(b *testing.B) {
	for _, d := range []gatewaysim.Dialect{gatewaysim.Flat, gatewaysim.Router, gatewaysim.OPA, gatewaysim.Admin} {
		b.Run(d.String(), func(b *testing.B) {
			g := gatewaysim.NewGenerator(1, time.Date(2026, 3, 1, 23, 30, 0, 0, time.UTC), time.Hour, 1000)
			raws := make([]jsonbody.Value, 1000)
			for i := range raws {
				var err error
				if raws[i], err = jsonbody.DecodeObject(g.Append(nil, d), jsonbody.DefaultLimits); err != nil {
					b.Fatal(err)
				}
			}
			m := pcommon.NewMap()
			var dst []*record.Record
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				raw := raws[i%len(raws)]
				var rec *record.Record
				var err error
				switch d {
				case gatewaysim.Admin:
					rec, err = record.NormalizeValue(raw, record.Hints{Kind: record.KindAdmin})
				case gatewaysim.OPA: // an OPA event is the OPA dialect's to flatten
					var recs []*record.Record
					recs, err = opa.Normalize(dst[:0], raw, record.Hints{})
					dst, rec = recs, recs[0]
				default:
					rec, err = record.NormalizeValue(raw, record.Hints{})
				}
				if err != nil {
					b.Fatal(err)
				}
				m.Clear()
				rec.CopyTo(m)
			}
		})
	}
}

// BenchmarkName: the keyed event_id and correlation_id of a flat record
// (HMAC-SHA256 over its RFC 8785 encoding), one record per op.
func BenchmarkName(b *testing.B) {
	g := gatewaysim.NewGenerator(1, time.Date(2026, 3, 1, 23, 30, 0, 0, time.UTC), time.Hour, 1000)
	recs := make([]*record.Record, 1000)
	for i := range recs {
		var raw map[string]any
		if err := json.Unmarshal(g.Append(nil, gatewaysim.Flat), &raw); err != nil {
			b.Fatal(err)
		}
		delete(raw, "correlation_id")
		rec, err := record.Normalize(raw, record.Hints{})
		if err != nil {
			b.Fatal(err)
		}
		recs[i] = rec
	}
	namer := record.NewNamer([]byte("0123456789abcdef0123456789abcdef"))
	// with-map: writing the canonical map and naming it, as the processor
	// does for a record it normalised; ids: naming alone (the map written
	// beforehand, as for a body the receiver wrote), the 1 µs.
	b.Run("with-map", func(b *testing.B) {
		m := pcommon.NewMap()
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			rec := *recs[i%len(recs)]
			rec.CopyTo(m)
			namer.NameCanonical(&rec, m)
		}
	})
	b.Run("ids", func(b *testing.B) {
		maps := make([]pcommon.Map, len(recs))
		for i, r := range recs {
			maps[i] = pcommon.NewMap()
			r.CopyTo(maps[i])
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			rec := *recs[i%len(recs)]
			namer.NameCanonical(&rec, maps[i%len(maps)])
		}
	})
}

// BenchmarkReadCanonical: the processor's check of a body the receiver
// wrote (every field read back, typed, against the contract's rules and
// CopyTo's form), one op a flat-dialect record; issue 16's 2 µs.
func BenchmarkReadCanonical(b *testing.B) {
	g := gatewaysim.NewGenerator(1, time.Date(2026, 3, 1, 23, 30, 0, 0, time.UTC), time.Hour, 1000)
	namer := record.NewNamer([]byte("0123456789abcdef0123456789abcdef"))
	maps := make([]pcommon.Map, 1000)
	for i := range maps {
		var raw map[string]any
		if err := json.Unmarshal(g.Append(nil, gatewaysim.Flat), &raw); err != nil {
			b.Fatal(err)
		}
		rec, err := record.Normalize(raw, record.Hints{})
		if err != nil {
			b.Fatal(err)
		}
		maps[i] = pcommon.NewMap()
		rec.CopyTo(maps[i])
		namer.Name(rec, maps[i])
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := record.ReadCanonical(maps[i%len(maps)]); err != nil {
			b.Fatal(err)
		}
	}
}
