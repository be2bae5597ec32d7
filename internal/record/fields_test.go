// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package record

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// recordingSink notes the fields writeFields gives, with their types.
type recordingSink struct {
	fields *[]Field
}

func (s recordingSink) add(k string, t FieldType) {
	*s.fields = append(*s.fields, Field{Name: k, Type: t})
}
func (s recordingSink) str(k, _ string)                 { s.add(k, TypeString) }
func (s recordingSink) time(k string, _ time.Time)      { s.add(k, TypeTime) }
func (s recordingSink) boolean(k string, _ bool)        { s.add(k, TypeBool) }
func (s recordingSink) strs(k string, _ []string)       { s.add(k, TypeStrings) }
func (s recordingSink) free(k string, _ map[string]any) { s.add(k, TypeFree) }
func (s recordingSink) end()                            {}
func (s recordingSink) object(k string) fieldSink {
	*s.fields = append(*s.fields, Field{Name: k, Type: TypeObject})
	parent := &(*s.fields)[len(*s.fields)-1]
	return recordingSink{fields: &parent.Subfields}
}

// written lists what writeFields gives for r.
func written(r *Record) []Field {
	var got []Field
	r.writeFields(recordingSink{fields: &got})
	return got
}

// expected lists FieldsOf(k) as written for a record with every field set
// (all) or only the ones always present.
func expected(k Kind, all bool) []Field {
	var out []Field
	for _, f := range FieldsOf(k) {
		if !all && f.Presence == WhenSet {
			continue
		}
		e := Field{Name: f.Name, Type: f.Type}
		for _, sub := range f.Subfields {
			if all || sub.Presence == Always {
				e.Subfields = append(e.Subfields, Field{Name: sub.Name, Type: sub.Type})
			}
		}
		out = append(out, e)
	}
	return out
}

// TestWriteFieldsFollowsFields holds the canonical record (writeFields) and
// its description (fields.go) together: the same fields, in the same order,
// of the same types, present when the description says.
func TestWriteFieldsFollowsFields(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	fullDecision := &Record{
		Kind: KindDecision, EventID: "e", CreatedAt: at, CorrelationID: "c", CorrelationGenerated: true,
		TraceID: "t", SpanID: "s", Decision: "deny", DecisionRaw: "block", EffectiveDecision: "deny",
		RolloutMode: "enforced", Enforced: true, ReasonCode: "R", PolicyID: "p", PolicyVersion: "1",
		PolicyUser: "u", APIKeyID: "k", ProjectID: "pr", PolicyTarget: "pt", Model: "m", Provider: "pv",
		Stage: "input", TriggeredCategories: []string{"a"}, AllowlistHits: []string{}, DenylistHits: []string{},
		Classification: []string{"x"}, Gateway: "g", Usage: map[string]any{UsageInputTokens: int64(1)}, Extra: map[string]any{"x": 1}, SchemaError: "e",
	}
	minimalDecision := &Record{Kind: KindDecision, EventID: "e", CreatedAt: at, CorrelationID: "c",
		Decision: "allow", EffectiveDecision: "allow", RolloutMode: "enforced", ReasonCode: "R", PolicyID: "p", PolicyVersion: "1"}
	fullAdmin := &Record{
		Kind: KindAdmin, EventID: "e", CreatedAt: at, CorrelationID: "c", CorrelationGenerated: true, TraceID: "t", SpanID: "s",
		Actor: Actor{ID: "a", Type: "user", IP: "ip"}, Action: "policy.update", Resource: Resource{Type: "policy", ID: "p", Name: "n"},
		Outcome: "success", Details: map[string]any{}, PolicyID: "p", PolicyVersion: "2", Extra: map[string]any{"x": 1}, SchemaError: "e",
	}
	minimalAdmin := &Record{Kind: KindAdmin, EventID: "e", CreatedAt: at, CorrelationID: "c",
		Actor: Actor{ID: "a", Type: "user"}, Action: "key.revoke", Resource: Resource{Type: "key", ID: "k"}, Outcome: "success"}

	assert.Equal(t, expected(KindDecision, true), written(fullDecision))
	assert.Equal(t, expected(KindDecision, false), written(minimalDecision))
	assert.Equal(t, expected(KindAdmin, true), written(fullAdmin))
	assert.Equal(t, expected(KindAdmin, false), written(minimalAdmin))
}

func TestFieldNamesWith(t *testing.T) {
	identity := FieldNamesWith(RoleIdentity)
	assert.Equal(t, map[string]bool{
		FieldSchemaVersion: true, FieldEventKind: true, FieldEventID: true, FieldCreatedAt: true,
		FieldCorrelationID: true, FieldTraceID: true, FieldSpanID: true,
	}, identity)
	routing := FieldNamesWith(RoleRouting)
	for _, name := range []string{FieldDecision, FieldPolicyVersion, FieldAction, FieldOutcome, FieldSchemaError} {
		assert.True(t, routing[name], name)
	}
	assert.False(t, routing[FieldPolicyUser], "user content is not routing")
}

// TestFieldNamesArePlain: every field name is lower-case ASCII letters and
// underscores, so encoders write names without escaping them.
func TestFieldNamesArePlain(t *testing.T) {
	var check func(fields []Field)
	check = func(fields []Field) {
		for _, f := range fields {
			assert.Regexp(t, `^[a-z_]+$`, f.Name)
			check(f.Subfields)
		}
	}
	check(FieldsOf(KindDecision))
	check(FieldsOf(KindAdmin))
}

func TestAppendTimestampIsTheLayout(t *testing.T) {
	for _, at := range []time.Time{
		time.Date(2026, 3, 1, 23, 59, 59, 999_999_999, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 1, 2, 3, 4_000_000, time.FixedZone("x", 3600)),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Unix(1_700_000_000, 123_456_789),
	} {
		assert.Equal(t, at.UTC().Format(TimestampLayout), string(AppendTimestamp(nil, at)), at.String())
	}
}
