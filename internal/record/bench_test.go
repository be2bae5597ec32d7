package record_test

import (
	"encoding/json"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/policyaudit/policyaudit/internal/gatewaysim"
	"github.com/policyaudit/policyaudit/internal/record"
)

// BenchmarkNormalize: one record per op, decoded JSON in, canonical pdata
// map out, per dialect.
func BenchmarkNormalize(b *testing.B) {
	for _, d := range []gatewaysim.Dialect{gatewaysim.Flat, gatewaysim.Router, gatewaysim.OPA, gatewaysim.Admin} {
		b.Run(d.String(), func(b *testing.B) {
			g := gatewaysim.NewGenerator(1, time.Date(2026, 3, 1, 23, 30, 0, 0, time.UTC), time.Hour, 1000)
			raws := make([]map[string]any, 1000)
			for i := range raws {
				if err := json.Unmarshal(g.Append(nil, d), &raws[i]); err != nil {
					b.Fatal(err)
				}
			}
			m := pcommon.NewMap()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				raw := raws[i%len(raws)]
				var rec *record.Record
				var err error
				switch d {
				case gatewaysim.OPA:
					rec, err = record.NormalizeOPA(raw)
				case gatewaysim.Admin:
					rec, err = record.Normalize(raw, record.Hints{Kind: record.KindAdmin})
				default:
					rec, err = record.Normalize(raw, record.Hints{})
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

// BenchmarkDeriveEventID: the UUIDv5 over a flat record's sorted-key JSON,
// one record per op (part of BenchmarkNormalize/flat).
func BenchmarkDeriveEventID(b *testing.B) {
	g := gatewaysim.NewGenerator(1, time.Date(2026, 3, 1, 23, 30, 0, 0, time.UTC), time.Hour, 1000)
	raws := make([]map[string]any, 1000)
	for i := range raws {
		if err := json.Unmarshal(g.Append(nil, gatewaysim.Flat), &raws[i]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = record.DeriveEventID(record.KindDecision, raws[i%len(raws)])
	}
}
