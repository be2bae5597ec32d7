// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

// Package dialects is the list of gateway dialects policyaudit reads: the
// one place a new dialect is registered. The policygateway receiver's
// routes and 404 text, the policydecision processor's recognition of
// gateway payloads and the prompt fields it drops, `policyaudit normalize`
// and the golden-file test are all built from it.
package dialects // import "github.com/policyaudit/policyaudit/internal/dialects"

import (
	"strings"

	"github.com/policyaudit/policyaudit/internal/dialect"
	"github.com/policyaudit/policyaudit/internal/dialect/admin"
	"github.com/policyaudit/policyaudit/internal/dialect/decisions"
	"github.com/policyaudit/policyaudit/internal/dialect/kong"
	"github.com/policyaudit/policyaudit/internal/dialect/kongaudit"
	"github.com/policyaudit/policyaudit/internal/dialect/litellm"
	"github.com/policyaudit/policyaudit/internal/dialect/opa"
	"github.com/policyaudit/policyaudit/internal/jsonbody"
	"github.com/policyaudit/policyaudit/internal/record"
)

// All are the dialects, in the order a body is tested against their
// detectors.
var All = []*dialect.Dialect{
	&decisions.Dialect,
	&admin.Dialect,
	&opa.Dialect,
	&litellm.Dialect,
	&kong.Dialect,
	&kongaudit.Dialect,
}

// ByName is the dialect of that name.
func ByName(name string) (*dialect.Dialect, bool) {
	for _, d := range All {
		if d.Name == name {
			return d, true
		}
	}
	return nil, false
}

// Names lists the dialects' names, as a usage text does.
func Names() string {
	names := make([]string, len(All))
	for i, d := range All {
		names[i] = d.Name
	}
	return strings.Join(names, ", ")
}

// Normalize reads an object that came without an endpoint to name its
// dialect (an OTLP log body, a filelog line): in the first dialect whose
// detector recognises it, else as the record contract's own, of the kind
// hints give or infer. It also returns whether a gateway dialect was
// detected (its payload is not a record: on error nothing of it is kept).
func Normalize(dst []*record.Record, obj jsonbody.Value, hints record.Hints) ([]*record.Record, bool, error) {
	for _, d := range All {
		if d.Detect != nil && d.Detect(obj) {
			recs, err := d.Normalize(dst, obj, hints)
			return recs, true, err
		}
	}
	recs, err := decisions.Normalize(dst, obj, hints)
	return recs, false, err
}

// BodyFields are the fields of every dialect that hold prompt or completion
// text.
var BodyFields = func() map[string]bool {
	fields := map[string]bool{}
	for _, d := range All {
		for _, f := range d.BodyFields {
			fields[f] = true
		}
	}
	return fields
}()
