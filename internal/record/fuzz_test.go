package record_test

import (
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/policyaudit/policyaudit/internal/jsonbody"
	"github.com/policyaudit/policyaudit/internal/record"
	"github.com/policyaudit/policyaudit/internal/testfixtures"
)

// addFixtureSeeds seeds a fuzz target with every good and bad fixture.
func addFixtureSeeds(f *testing.F) {
	for _, b := range testfixtures.Bodies(f, true) {
		f.Add(b)
	}
}

// FuzzNormalize: any body, split and normalised as every kind, never panics,
// and whatever normalises without error also writes a canonical record that
// normalises to itself.
func FuzzNormalize(f *testing.F) {
	addFixtureSeeds(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		_ = jsonbody.Split(body, false, jsonbody.DefaultLimits, func(_ jsonbody.Position, obj map[string]any) error {
			for _, h := range []record.Hints{{}, {Kind: record.KindDecision}, {Kind: record.KindAdmin}} {
				r, err := record.Normalize(obj, h)
				if err != nil {
					continue
				}
				assertHeaderRoundTrip(t, r)
				m := pcommon.NewMap()
				r.CopyTo(m)
				again, err := record.Normalize(m.AsRaw(), record.Hints{})
				if err != nil {
					t.Fatalf("a canonical record does not normalise again: %v\n%v", err, m.AsRaw())
				}
				m2 := pcommon.NewMap()
				again.CopyTo(m2)
				if !m.Equal(m2) {
					t.Fatalf("normalising is not idempotent:\n%v\n%v", m.AsRaw(), m2.AsRaw())
				}
			}
			_, _ = record.NormalizeOPA(obj)
			return nil
		})
	})
}
