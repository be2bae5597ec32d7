package pdatajson

import (
	"fmt"
	"slices"
	"strconv"
)

// anyEncoder writes a value decoded by encoding/json (map[string]any,
// []any and scalars) as JSON with object keys sorted. The canonical encoding
// and the json.Marshal-compatible one share this walk and differ in their
// strings and numbers.
type anyEncoder struct {
	asMarshal bool // strings as json.Marshal writes them
	scalar    func(dst []byte, v any) ([]byte, error)
}

func (e anyEncoder) append(dst []byte, v any) ([]byte, error) {
	switch t := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		dst = append(dst, '{')
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, k, e.asMarshal)
			dst = append(dst, ':')
			var err error
			if dst, err = e.append(dst, t[k]); err != nil {
				return nil, err
			}
		}
		return append(dst, '}'), nil
	case []any:
		dst = append(dst, '[')
		for i, el := range t {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = e.append(dst, el); err != nil {
				return nil, err
			}
		}
		return append(dst, ']'), nil
	}
	return e.scalar(dst, v)
}

// commonScalar writes the scalars both encodings write alike.
func commonScalar(dst []byte, v any, asMarshal bool) ([]byte, error) {
	switch t := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case bool:
		return strconv.AppendBool(dst, t), nil
	case string:
		return appendString(dst, t, asMarshal), nil
	case int64:
		return strconv.AppendInt(dst, t, 10), nil
	}
	return nil, fmt.Errorf("unsupported value of type %T", v)
}
