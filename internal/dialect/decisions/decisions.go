// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

// Package decisions is the record contract's own dialect (docs/records.md):
// a gateway that writes its verdicts in the contract's field names, or in
// the aliases the contract lists (router-style verdicts among them), posts
// them to /v1/decisions. It is also how the processor reads a body no other
// dialect recognises, with the event kind inferred.
package decisions // import "github.com/policyaudit/policyaudit/internal/dialect/decisions"

import (
	"github.com/policyaudit/policyaudit/internal/dialect"
	"github.com/policyaudit/policyaudit/internal/dialect/opa"
	"github.com/policyaudit/policyaudit/internal/jsonbody"
	"github.com/policyaudit/policyaudit/internal/record"
)

// Dialect is policy decisions in the contract's field names.
var Dialect = dialect.Dialect{
	Name: "decisions",
	Path: "/v1/decisions",
	Doc:  "policy decisions in the record contract's field names (flat or router-style; OPA events too)",
	Normalize: func(dst []*record.Record, obj jsonbody.Value, hints record.Hints) ([]*record.Record, error) {
		hints.Kind = record.KindDecision
		return Normalize(dst, obj, hints)
	},
	// Prompt and completion text under the names gateways and the
	// OpenTelemetry GenAI conventions give it.
	BodyFields: []string{
		"prompt", "prompts", "completion", "completions", "messages", "content",
		"input_text", "output_text", "request_body", "response_body", "response",
		"gen_ai.prompt", "gen_ai.completion", "gen_ai.input.messages", "gen_ai.output.messages",
	},
	Fixtures: []string{"gateway-flat.ndjson", "router-verdicts.json", "gateway-usage.ndjson"},
}

// Normalize reads one object in the contract's field names, of the kind
// hints fix (inferred when they do not), or an OPA decision-log event
// when it has that shape and names no event kind of its own.
func Normalize(dst []*record.Record, obj jsonbody.Value, hints record.Hints) ([]*record.Record, error) {
	if isOPA(obj, hints) {
		return opa.Normalize(dst, obj, hints)
	}
	rec, err := record.NormalizeValue(obj, hints)
	return append(dst, rec), err // on error, the record as far as the input allows
}

// isOPA: an OPA-shaped event, unless it names its event kind, or the
// transport or its event name says it is an admin event.
func isOPA(obj jsonbody.Value, h record.Hints) bool {
	if h.Kind == record.KindAdmin || h.Kind == record.KindUnknown && h.EventName == record.EventNameAdmin {
		return false
	}
	return !record.HasEventKind(obj) && opa.Shaped(obj)
}
