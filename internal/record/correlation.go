package record

import (
	"crypto/sha1" //nolint:gosec // UUIDv5 is defined over SHA-1; it names, it does not protect.
	"encoding/hex"
	"strings"

	"github.com/policyaudit/policyaudit/internal/pdatajson"
)

// TraceContext is a W3C trace context found in a record.
type TraceContext struct {
	TraceID string // 32 lower-case hex digits
	SpanID  string // 16 lower-case hex digits, or empty
}

// parseTraceparent reads a W3C traceparent header value:
// version-traceid-parentid-flags, with all-zero IDs invalid.
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

// namespace is the UUIDv5 namespace of policyaudit's derived identifiers.
var namespace = [16]byte{0x5c, 0x1e, 0x2a, 0x8f, 0x0d, 0x4b, 0x4e, 0x55, 0x9a, 0x63, 0x7e, 0x01, 0xb2, 0x44, 0xc0, 0xde}

// uuidV5 is an RFC 9562 name-based UUID (version 5) in policyaudit's namespace.
func uuidV5(name []byte) string {
	h := sha1.New() //nolint:gosec
	h.Write(namespace[:])
	h.Write(name)
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = (u[6] & 0x0f) | 0x50
	u[8] = (u[8] & 0x3f) | 0x80
	var buf [36]byte
	hex.Encode(buf[0:8], u[0:4])
	buf[8] = '-'
	hex.Encode(buf[9:13], u[4:6])
	buf[13] = '-'
	hex.Encode(buf[14:18], u[6:8])
	buf[18] = '-'
	hex.Encode(buf[19:23], u[8:10])
	buf[23] = '-'
	hex.Encode(buf[24:], u[10:])
	return string(buf[:])
}

// DeriveEventID names a record by its content: the kind and the input object
// encoded as JSON with sorted keys, so the same record posted twice, whatever
// its key order or whitespace, gets the same event_id and de-duplicates.
func DeriveEventID(kind Kind, raw map[string]any) string {
	name := make([]byte, 0, 512)
	name = append(name, kind.String()...)
	name = append(name, 0)
	b, err := pdatajson.AppendMarshalAny(name, raw)
	if err != nil {
		// Only unsupported values (none come out of a JSON decoder) end here;
		// fall back to a name that is still deterministic.
		b = append(name, err.Error()...)
	}
	return uuidV5(b)
}

// DeriveCorrelationID gives a record without any correlation source a
// correlation_id derived from its event_id, so a replay gets the same one.
func DeriveCorrelationID(eventID string) string {
	return uuidV5([]byte("correlation\x00" + eventID))
}
