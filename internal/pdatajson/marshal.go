package pdatajson

import (
	"encoding/json"
	"math"
)

// AppendMarshalAny appends a value decoded by encoding/json (with or without
// UseNumber) exactly as json.Marshal writes it: keys sorted, HTML characters
// escaped, json.Number verbatim, floats in Marshal's form. Derived IDs hash
// these bytes, so they must not change with the encoder (the tests and a
// fuzz target compare it with json.Marshal); it avoids Marshal's reflection,
// which was a fifth of the receiver's time.
func AppendMarshalAny(dst []byte, v any) ([]byte, error) {
	return marshalAny.append(dst, v)
}

var marshalAny = anyEncoder{asMarshal: true, scalar: marshalScalar}

func marshalScalar(dst []byte, v any) ([]byte, error) {
	switch t := v.(type) {
	case json.Number:
		if t == "" {
			return append(dst, '0'), nil
		}
		return append(dst, t...), nil
	case float64:
		if math.IsInf(t, 0) || math.IsNaN(t) {
			_, err := json.Marshal(t)
			return nil, err
		}
		dst = appendFloat(dst, t)
		// Marshal writes e-7, not e-07.
		if n := len(dst); n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
		return dst, nil
	}
	return commonScalar(dst, v, true)
}
