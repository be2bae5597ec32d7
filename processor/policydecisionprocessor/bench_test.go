package policydecisionprocessor

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/policyaudit/policyaudit/internal/canonicalmark"
	"github.com/policyaudit/policyaudit/internal/gatewaysim"
	"github.com/policyaudit/policyaudit/internal/record"
	"github.com/policyaudit/policyaudit/processor/policydecisionprocessor/internal/metadata"
)

// simulatedLogs is a batch of flat-dialect records as the policygateway
// receiver delivers them (canonical map bodies), or as an OTLP receiver
// does (the gateway's JSON text).
func simulatedLogs(b *testing.B, n int, canonical bool) plog.Logs {
	g := gatewaysim.NewGenerator(1, time.Date(2026, 3, 1, 23, 30, 0, 0, time.UTC), time.Hour, n)
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for range n {
		line := g.Append(nil, gatewaysim.Flat)
		lr := lrs.AppendEmpty()
		if !canonical {
			lr.Body().SetStr(string(line))
			continue
		}
		var raw map[string]any
		if err := json.Unmarshal(line, &raw); err != nil {
			b.Fatal(err)
		}
		rec, err := record.Normalize(raw, record.Hints{})
		if err != nil {
			b.Fatal(err)
		}
		rec.CopyTo(lr.Body().SetEmptyMap())
		rec.SetLogRecordFields(lr)
	}
	return ld
}

// BenchmarkProcessLogs: one op is one record through the processor, in
// batches of 1000.
func BenchmarkProcessLogs(b *testing.B) {
	for _, c := range []struct {
		name            string
		canonical, mark bool
	}{
		{"from-policygateway", true, true},
		// The same canonical bodies without the receiver's mark: the long
		// path the fast path replaces.
		{"canonical-unmarked", true, false},
		{"from-otlp-json-text", false, false},
	} {
		b.Run(c.name, func(b *testing.B) {
			const batch = 1000
			in := simulatedLogs(b, batch, c.canonical)
			p, err := NewFactory().CreateLogs(context.Background(), processortest.NewNopSettings(metadata.Type), createDefaultConfig(), consumertest.NewNop())
			if err != nil {
				b.Fatal(err)
			}
			if err := p.Start(context.Background(), componenttest.NewNopHost()); err != nil {
				b.Fatal(err)
			}
			defer func() { _ = p.Shutdown(context.Background()) }()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i += batch {
				b.StopTimer()
				ld := plog.NewLogs()
				in.CopyTo(ld)
				b.StartTimer()
				ctx := context.Background()
				if c.mark {
					ctx = canonicalmark.Mark(ctx) // as the policygateway receiver hands them on
				}
				if err := p.ConsumeLogs(ctx, ld); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
