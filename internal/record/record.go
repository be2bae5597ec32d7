// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package record

import "time"

// Kind is the event kind of a canonical record.
type Kind uint8

const (
	// KindUnknown means the kind is not known yet and is to be inferred.
	KindUnknown Kind = iota
	// KindDecision is a policy decision (event_kind "policy_decision").
	KindDecision
	// KindAdmin is an admin audit event (event_kind "admin_audit").
	KindAdmin
)

// Event kinds and names as the record contract spells them.
const (
	SchemaVersion = "1"

	EventKindDecision = "policy_decision"
	EventKindAdmin    = "admin_audit"

	EventNameDecision = "policy.decision"
	EventNameAdmin    = "admin.audit"

	// UnknownPolicyVersion is the policy_version of a record that names none.
	UnknownPolicyVersion = "unknown"
)

// String returns the event_kind value of k.
func (k Kind) String() string {
	switch k {
	case KindDecision:
		return EventKindDecision
	case KindAdmin:
		return EventKindAdmin
	default:
		return "unknown"
	}
}

// EventName returns the OpenTelemetry event name of k.
func (k Kind) EventName() string {
	if k == KindAdmin {
		return EventNameAdmin
	}
	return EventNameDecision
}

// Actor is who performed an admin action.
type Actor struct {
	ID   string
	Type string // user, service or api_key
	IP   string
}

// Resource is what an admin action changed.
type Resource struct {
	Type string
	ID   string
	Name string
}

// Record is one canonical record of either kind. Fields that belong to the
// other kind stay empty; optional fields are omitted from the output when empty.
type Record struct {
	Kind                 Kind
	EventID              string
	CreatedAt            time.Time
	CorrelationID        string
	CorrelationGenerated bool
	TraceID              string // 32 lower-case hex digits, or empty
	SpanID               string // 16 lower-case hex digits, or empty

	// Policy decision fields.
	Decision            string
	DecisionRaw         string
	EffectiveDecision   string
	RolloutMode         string
	Enforced            bool
	ReasonCode          string
	PolicyUser          string
	APIKeyID            string
	ProjectID           string
	PolicyTarget        string
	Model               string
	Provider            string
	Stage               string
	TriggeredCategories []string
	AllowlistHits       []string
	DenylistHits        []string
	Classification      []string // nil when the input had none
	Gateway             string
	// Usage is the call's usage and outcome (FieldUsage's members: int64
	// counts, status and latency, float64 cost, strings); nil when the
	// input gave none.
	Usage map[string]any

	// Admin audit fields.
	Actor    Actor
	Action   string
	Resource Resource
	Outcome  string
	Details  map[string]any

	// Both kinds: policy_id and policy_version (for admin events, when the
	// resource is a policy or the input names one).
	PolicyID      string
	PolicyVersion string

	// Extra holds the input fields the contract does not name.
	Extra map[string]any
	// SchemaError is set on records that failed validation but were passed
	// on anyway (the processor's on_error: flag).
	SchemaError string
}

// TimestampLayout is the created_at format: RFC 3339, UTC, milliseconds.
const TimestampLayout = "2006-01-02T15:04:05.000Z"

// CreatedAtString formats CreatedAt as the contract requires.
func (r *Record) CreatedAtString() string {
	var buf [len(TimestampLayout)]byte
	return string(AppendTimestamp(buf[:0], r.CreatedAt))
}

// AppendTimestamp appends t in TimestampLayout: what t.UTC().Format does,
// without parsing the layout each time (every record's created_at is
// written, compared or hashed several times).
func AppendTimestamp(dst []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return t.AppendFormat(dst, TimestampLayout)
	}
	hour, minute, second := t.Clock()
	ms := t.Nanosecond() / int(time.Millisecond)
	dst = appendDigits(dst, year, 4)
	dst = append(dst, '-')
	dst = appendDigits(dst, int(month), 2)
	dst = append(dst, '-')
	dst = appendDigits(dst, day, 2)
	dst = append(dst, 'T')
	dst = appendDigits(dst, hour, 2)
	dst = append(dst, ':')
	dst = appendDigits(dst, minute, 2)
	dst = append(dst, ':')
	dst = appendDigits(dst, second, 2)
	dst = append(dst, '.')
	dst = appendDigits(dst, ms, 3)
	return append(dst, 'Z')
}

// appendDigits appends n (>= 0) as exactly width decimal digits.
func appendDigits(dst []byte, n, width int) []byte {
	var b [4]byte
	for i := width - 1; i >= 0; i-- {
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return append(dst, b[:width]...)
}

// PartitionDate is the UTC date of CreatedAt, the date partition the record
// belongs to in every date-partitioned destination.
func (r *Record) PartitionDate() string {
	return r.CreatedAt.UTC().Format("2006-01-02")
}

// HeaderTo sets h to the record reduced to the fields the data policy can
// never change: its kind, IDs, time, trace context and the routing fields (a
// PII rule on any of them is refused: the fields of RoleRouting and
// RoleIdentity), and whether its correlation ID was generated (a flag, not
// content). Everything else (users, keys, addresses, free text, the schema
// error that quotes the input) is left empty, to be read from the canonical
// map after the policy: a destination shape given the header cannot leak
// what the policy removed. h is the caller's, so a batch reuses one.
func (r *Record) HeaderTo(h *Record) {
	*h = Record{
		Kind: r.Kind, EventID: r.EventID, CreatedAt: r.CreatedAt,
		CorrelationID: r.CorrelationID, CorrelationGenerated: r.CorrelationGenerated,
		TraceID: r.TraceID, SpanID: r.SpanID,
		Decision: r.Decision, EffectiveDecision: r.EffectiveDecision, RolloutMode: r.RolloutMode,
		Enforced: r.Enforced, ReasonCode: r.ReasonCode,
		Action: r.Action, Outcome: r.Outcome,
		PolicyID: r.PolicyID, PolicyVersion: r.PolicyVersion,
	}
}
