// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package record_test

import (
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/policyaudit/policyaudit/internal/dialect/opa"
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
// normalises from the one-pass decoder's values, in input order with repeated
// keys, exactly as from the map encoding/json decodes (Interface is that map:
// FuzzScanRecord checks it), and
// whatever normalises without error also writes a canonical record that
// normalises to itself.
func FuzzNormalize(f *testing.F) {
	addFixtureSeeds(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		_ = jsonbody.Split(body, false, jsonbody.DefaultLimits, func(_ jsonbody.Position, obj jsonbody.Value) error {
			oracle := obj.Interface().(map[string]any)
			for _, h := range []record.Hints{{}, {Kind: record.KindDecision}, {Kind: record.KindAdmin}} {
				r, err := record.NormalizeValue(obj, h)
				want, wantErr := record.Normalize(oracle, h)
				if !sameOutcome(r, err, want, wantErr) {
					t.Fatalf("the decoder's values and encoding/json's normalise differently:\n%v %v\n%v %v", err, r, wantErr, want)
				}
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
			_, _ = opa.Normalize(nil, obj, record.Hints{})
			return nil
		})
	})
}

// sameOutcome: the same error text, and the same canonical record.
func sameOutcome(a *record.Record, aErr error, b *record.Record, bErr error) bool {
	if (aErr == nil) != (bErr == nil) || aErr != nil && aErr.Error() != bErr.Error() {
		return false
	}
	ma, mb := pcommon.NewMap(), pcommon.NewMap()
	a.CopyTo(ma)
	b.CopyTo(mb)
	return ma.Equal(mb)
}

// FuzzReadCanonical: a canonical record with one field set to any string,
// or removed, is either refused by ReadCanonical or is exactly what
// normalising it gives: the fast path never lets through what the long path
// would change.
func FuzzReadCanonical(f *testing.F) {
	for _, k := range []string{"decision", "decision_raw", "reason_code", "rollout_mode", "stage", "trace_id", "span_id", "created_at", "prompt", "actor", "outcome", "action", "policy_version"} {
		f.Add(uint8(0), k, "x", false)
		f.Add(uint8(3), k, "", true)
	}
	f.Add(uint8(1), "decision", "rewrite", false)
	f.Add(uint8(2), "extra", "{}", false)
	var bodies []pcommon.Map
	for _, name := range []string{"gateway-flat.ndjson", "router-verdicts.json", "admin-audit.ndjson", "opa-decision-logs.json"} {
		for _, r := range normalizeFixture(f, name) {
			m := pcommon.NewMap()
			r.CopyTo(m)
			bodies = append(bodies, m)
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, key, value string, remove bool) {
		m := pcommon.NewMap()
		bodies[int(which)%len(bodies)].CopyTo(m)
		if remove {
			m.Remove(key)
		} else {
			m.PutStr(key, value)
		}
		if _, err := record.ReadCanonical(m); err != nil {
			return
		}
		again, err := record.Normalize(m.AsRaw(), record.Hints{})
		if err != nil {
			t.Fatalf("ReadCanonical accepted what Normalize refuses (%v): %v", err, m.AsRaw())
		}
		m2 := pcommon.NewMap()
		again.CopyTo(m2)
		if !m.Equal(m2) {
			t.Fatalf("ReadCanonical accepted what Normalize changes:\n%v\n%v", m.AsRaw(), m2.AsRaw())
		}
	})
}
