// Package canonicalmark lets the policygateway receiver tell the
// policydecision processor, through the context of the call that hands the
// records on, that every log body is a canonical record it has just
// normalised, so the processor does not normalise them a second time. Only
// code in this module can set the mark: no other receiver can claim it.
package canonicalmark

import "context"

type key struct{}

// Mark returns ctx saying that the logs handed on with it hold canonical
// records written by record.Record.CopyTo.
func Mark(ctx context.Context) context.Context { return context.WithValue(ctx, key{}, true) }

// Marked reports whether ctx carries the mark.
func Marked(ctx context.Context) bool {
	v, _ := ctx.Value(key{}).(bool)
	return v
}
