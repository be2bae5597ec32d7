// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

// Package dialect describes a gateway dialect: one way an LLM gateway (or a
// policy engine) writes its verdicts or admin events, and everything the
// collector needs to know about it. Each dialect lives in a package of its
// own under internal/dialect and says it all in one Dialect value; the list
// of them is internal/dialects, from which the receiver's routes, the
// processor's body recognition and dropped fields, `policyaudit normalize`
// and the docs are built.
package dialect // import "github.com/policyaudit/policyaudit/internal/dialect"

import (
	"github.com/policyaudit/policyaudit/internal/jsonbody"
	"github.com/policyaudit/policyaudit/internal/record"
)

// Dialect is everything about one gateway dialect.
type Dialect struct {
	// Name is how the command line and the docs name it ("litellm").
	Name string
	// Path is the policygateway receiver's endpoint that takes it
	// ("/v1/litellm"); empty for a dialect another receiver pulls.
	Path string
	// Doc says in a few words what the dialect is, for usage texts.
	Doc string
	// Detect reports whether an object that came without an endpoint to
	// say its dialect (an OTLP log body, a filelog line) is in this one;
	// nil for a dialect that is never told apart that way (the contract's
	// own, which the decisions dialect reads).
	Detect func(obj jsonbody.Value) bool
	// Normalize appends to dst the canonical records of one input object (a
	// gateway payload may give several, or none), so a caller that reuses
	// dst allocates no list per record. hints carry what the transport
	// knows (an OTLP log record's event name, time and trace context). On
	// an error the object is refused (the receiver) or flagged (the
	// processor); dst may then end with the record as far as it was read.
	Normalize func(dst []*record.Record, obj jsonbody.Value, hints record.Hints) ([]*record.Record, error)
	// BodyFields name the fields of its payloads that quote prompt or
	// completion text: the processor drops them from extra unless body
	// logging is on.
	BodyFields []string
	// Fixtures are the files under testdata/fixtures written in it, each
	// normalised to testdata/expected/<name>.jsonl (the golden files).
	Fixtures []string
}
