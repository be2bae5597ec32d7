// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package record

import "strings"

// TraceContext is a W3C trace context found in a record.
type TraceContext struct {
	TraceID string // 32 lower-case hex digits
	SpanID  string // 16 lower-case hex digits, or empty
}

// parseTraceparent reads a W3C traceparent header value:
// version-traceid-parentid-flags, with all-zero IDs invalid.
// ParseTraceparent reads a W3C traceparent header.
func ParseTraceparent(s string) (TraceContext, bool) { return parseTraceparent(s) }

func parseTraceparent(s string) (TraceContext, bool) {
	parts := strings.Split(strings.TrimSpace(strings.ToLower(s)), "-")
	if len(parts) < 4 || len(parts[0]) != 2 || parts[0] == "ff" {
		return TraceContext{}, false
	}
	if !isHexID(parts[1], 32) || !isHexID(parts[2], 16) {
		return TraceContext{}, false
	}
	return TraceContext{TraceID: parts[1], SpanID: parts[2]}, true
}

// isHexID reports whether s is n lower-case hex digits, not all zero.
// IsHexID reports whether s is n lowercase hex digits, not all zero.
func IsHexID(s string, n int) bool { return isHexID(s, n) }

func isHexID(s string, n int) bool {
	if len(s) != n {
		return false
	}
	nonZero := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '1' && c <= '9', c >= 'a' && c <= 'f':
			nonZero = true
		case c == '0':
		default:
			return false
		}
	}
	return nonZero
}
