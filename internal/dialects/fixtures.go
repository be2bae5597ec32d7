// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package dialects

import (
	"github.com/policyaudit/policyaudit/internal/dialect"
	"github.com/policyaudit/policyaudit/internal/jsonbody"
	"github.com/policyaudit/policyaudit/internal/record"
)

// OfFixture is the dialect a file of testdata/fixtures is written in.
func OfFixture(name string) (*dialect.Dialect, bool) {
	for _, d := range All {
		for _, f := range d.Fixtures {
			if f == name {
				return d, true
			}
		}
	}
	return nil, false
}

// NormalizeBody is what d's endpoint makes of a whole body (a JSON array or
// object, or JSON lines), refusing it at the first bad object as the
// receiver does; the records are not named yet (the processor does that).
func NormalizeBody(d *dialect.Dialect, body []byte) ([]*record.Record, error) {
	var out []*record.Record
	err := jsonbody.Split(body, false, jsonbody.DefaultLimits, func(pos jsonbody.Position, obj jsonbody.Value) error {
		var err error
		n := len(out)
		if out, err = d.Normalize(out, obj, record.Hints{}); err != nil {
			out = out[:n]
			return &positioned{pos: pos, err: err}
		}
		return nil
	})
	return out, err
}

// positioned is an object's error with where the object is in the body.
type positioned struct {
	pos jsonbody.Position
	err error
}

func (p *positioned) Error() string { return p.pos.String() + ": " + p.err.Error() }
func (p *positioned) Unwrap() error { return p.err }
