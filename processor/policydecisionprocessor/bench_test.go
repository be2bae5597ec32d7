// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

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
		name               string
		canonical, changed bool
	}{
		{"from-policygateway", true, false},
		// The same bodies changed after the receiver (as a transform
		// processor might): not canonical any more, so the long path.
		{"canonical-changed", true, true},
		{"from-otlp-json-text", false, false},
	} {
		b.Run(c.name, func(b *testing.B) {
			const batch = 1000
			in := simulatedLogs(b, batch, c.canonical)
			if c.changed {
				lrs := in.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
				for i := 0; i < lrs.Len(); i++ {
					lrs.At(i).Body().Map().PutStr("decision", "rewrite")
				}
			}
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
				if err := p.ConsumeLogs(context.Background(), ld); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
