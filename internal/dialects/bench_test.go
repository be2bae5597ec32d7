// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package dialects_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/policyaudit/policyaudit/internal/dialects"
	"github.com/policyaudit/policyaudit/internal/jsonbody"
	"github.com/policyaudit/policyaudit/internal/record"
	"github.com/policyaudit/policyaudit/internal/testfixtures"
)

// BenchmarkNormalizeFixtures: each dialect's Normalize over the objects of
// its fixtures (decoded beforehand), one op all of them.
func BenchmarkNormalizeFixtures(b *testing.B) {
	for _, d := range dialects.All {
		b.Run(d.Name, func(b *testing.B) {
			var objs []jsonbody.Value
			for _, name := range d.Fixtures {
				body, err := os.ReadFile(filepath.Join(testfixtures.Dir, name))
				if err != nil {
					b.Fatal(err)
				}
				if err := jsonbody.Split(body, false, jsonbody.DefaultLimits, func(_ jsonbody.Position, obj jsonbody.Value) error {
					objs = append(objs, obj)
					return nil
				}); err != nil {
					b.Fatal(err)
				}
			}
			var dst []*record.Record
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for _, obj := range objs {
					var err error
					if dst, err = d.Normalize(dst[:0], obj, record.Hints{}); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
