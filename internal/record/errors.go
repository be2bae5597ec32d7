// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package record

import "fmt"

// FieldError is a validation failure that names the canonical field at fault.
type FieldError struct {
	Field  string
	Reason string // a short machine-readable reason, used as a metric attribute
	Msg    string
}

func (e *FieldError) Error() string {
	return e.Field + ": " + e.Msg
}

// FieldErrorf is the error of a field, for the dialects that reshape a
// payload before normalising it.
func FieldErrorf(field, reason, format string, args ...any) *FieldError {
	return fieldErr(field, reason, format, args...)
}

func fieldErr(field, reason, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Reason: reason, Msg: fmt.Sprintf(format, args...)}
}

// Reasons for schema errors, low-cardinality so they can label metrics.
const (
	ReasonMissingField   = "missing_field"
	ReasonInvalidType    = "invalid_type"
	ReasonUnknownVerdict = "unknown_verdict"
	ReasonInvalidValue   = "invalid_value"
	ReasonInvalidTime    = "invalid_timestamp"
	ReasonInvalidAction  = "invalid_action"
	ReasonUnknownKind    = "unknown_kind"
)
