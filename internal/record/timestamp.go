// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package record

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/policyaudit/policyaudit/internal/jsonbody"
)

// parseTimestamp accepts RFC 3339 text, or an epoch number (or a string of
// digits) in seconds, milliseconds, microseconds or nanoseconds, told apart by
// magnitude: below 1e11 is seconds (until year 5138), below 1e14 milliseconds,
// below 1e17 microseconds, else nanoseconds. Fractional seconds are accepted.
// The result is truncated to milliseconds, never rounded, so a record at
// 23:59:59.9999 stays in its own day's partition.
func parseTimestamp(v any) (time.Time, bool) {
	var t time.Time
	switch x := v.(type) {
	case string:
		s := strings.TrimSpace(x)
		if s != "" && (s[0] >= '0' && s[0] <= '9') && !strings.ContainsAny(s, "-:T") {
			return parseTimestamp(json.Number(s))
		}
		p, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return time.Time{}, false
		}
		t = p
	case json.Number:
		if i, err := strconv.ParseInt(x.String(), 10, 64); err == nil {
			t = epochInt(i)
			break
		}
		if sec, frac, ok := decimalSeconds(x.String()); ok && sec < 1e11 {
			t = time.Unix(sec, frac)
			break
		}
		f, err := x.Float64()
		if err != nil {
			return time.Time{}, false
		}
		return parseTimestamp(f)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) || x < 0 {
			return time.Time{}, false
		}
		if x < 1e11 {
			// Round to microseconds first: 1768608000.123 is 1768608000.12299…
			// in binary, and must not become .122 after truncation.
			sec, frac := math.Modf(x)
			t = time.Unix(int64(sec), int64(math.Round(frac*1e6))*1e3)
		} else {
			t = epochInt(int64(x))
		}
	case int64:
		t = epochInt(x)
	case int:
		t = epochInt(int64(x))
	default:
		return time.Time{}, false
	}
	t = t.UTC()
	if t.Year() < 1970 || t.Year() > 9999 {
		return time.Time{}, false
	}
	return t.Truncate(time.Millisecond), true
}

// valueTimestamp is parseTimestamp of a decoded value.
func valueTimestamp(v *jsonbody.Value) (time.Time, bool) {
	switch v.Kind {
	case jsonbody.String:
		return parseTimestamp(v.Str)
	case jsonbody.Number:
		return parseTimestamp(json.Number(v.Str))
	case jsonbody.Float, jsonbody.Int:
		return parseTimestamp(v.Interface())
	}
	return time.Time{}, false
}

func epochInt(i int64) time.Time {
	switch {
	case i < 0:
		return time.Time{}
	case i < 1e11:
		return time.Unix(i, 0)
	case i < 1e14:
		return time.UnixMilli(i)
	case i < 1e17:
		return time.UnixMicro(i)
	default:
		return time.Unix(0, i)
	}
}

// decimalSeconds reads "1768608000.123" exactly: whole seconds and the
// fraction as nanoseconds, without a detour through binary floating point.
func decimalSeconds(s string) (int64, int64, bool) {
	whole, fraction, ok := strings.Cut(s, ".")
	if !ok || fraction == "" || len(fraction) > 9 {
		return 0, 0, false
	}
	sec, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || sec < 0 {
		return 0, 0, false
	}
	frac, err := strconv.ParseInt(fraction+strings.Repeat("0", 9-len(fraction)), 10, 64)
	if err != nil || frac < 0 {
		return 0, 0, false
	}
	return sec, frac, true
}
