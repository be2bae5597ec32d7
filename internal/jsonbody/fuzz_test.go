package jsonbody

import (
	"testing"

	"github.com/policyaudit/policyaudit/internal/testfixtures"
)

// FuzzSplit: any body, in either mode, never panics, and every record it
// yields is within the limits.
func FuzzSplit(f *testing.F) {
	for _, b := range testfixtures.Bodies(f, true) {
		f.Add(b, false)
		f.Add(b, true)
	}
	lim := Limits{MaxDepth: 8, MaxStringLength: 256, MaxRecords: 50}
	f.Fuzz(func(t *testing.T, body []byte, ndjson bool) {
		n := 0
		_ = Split(body, ndjson, lim, func(_ Position, obj map[string]any) error {
			n++
			if obj == nil {
				t.Fatal("a nil record")
			}
			return nil
		})
		if n > lim.MaxRecords {
			t.Fatalf("%d records over the limit of %d", n, lim.MaxRecords)
		}
	})
}
