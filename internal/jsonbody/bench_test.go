// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package jsonbody

import (
	"bytes"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/policyaudit/policyaudit/internal/gatewaysim"
)

// body is n simulated records of a dialect as NDJSON, or as a JSON array.
func body(n int, d gatewaysim.Dialect, array bool) []byte {
	g := gatewaysim.NewGenerator(1, time.Date(2026, 3, 1, 23, 30, 0, 0, time.UTC), time.Hour, n)
	var b bytes.Buffer
	if array {
		b.WriteByte('[')
	}
	for i := range n {
		if array && i > 0 {
			b.WriteByte(',')
		}
		b.Write(g.Append(nil, d))
		if !array {
			b.WriteByte('\n')
		}
	}
	if array {
		b.WriteByte(']')
	}
	return b.Bytes()
}

// BenchmarkSplit: records split and decoded per second; allocations per
// record are the ns/op and allocs/op of one record (b.N records).
func BenchmarkSplit(b *testing.B) {
	for _, c := range []struct {
		name  string
		d     gatewaysim.Dialect
		array bool
	}{{"ndjson/flat", gatewaysim.Flat, false}, {"array/router", gatewaysim.Router, true}, {"array/opa", gatewaysim.OPA, true}} {
		b.Run(c.name, func(b *testing.B) {
			const batch = 1000
			in := body(batch, c.d, c.array)
			b.SetBytes(int64(len(in) / batch))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i += batch {
				_ = Split(in, !c.array, DefaultLimits, func(Position, Value) error { return nil })
			}
		})
	}
}

// BenchmarkSplitBytesPerBodyByte: what splitting holds per byte of body, the
// receiver's decodeFactor: a body of flat records (decoded), and a 20 MiB
// array of empty objects over the record limit (refused by the scan, so it
// costs nothing per element). One op = one body.
func BenchmarkSplitBytesPerBodyByte(b *testing.B) {
	for _, c := range []struct {
		name string
		in   []byte
		ndjs bool
	}{
		{"flat-records", body(1000, gatewaysim.Flat, false), true},
		{"array-bomb", []byte("[" + strings.Repeat("{},", (20<<20)/3) + "{}]"), false},
	} {
		b.Run(c.name, func(b *testing.B) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			for i := 0; i < b.N; i++ {
				_ = Split(c.in, c.ndjs, DefaultLimits, func(Position, Value) error { return nil })
			}
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N)/float64(len(c.in)), "alloc-bytes/body-byte")
		})
	}
}
