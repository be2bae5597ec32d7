package jsonbody

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzSplit: any body, in either mode, never panics, and every record it
// yields is within the limits.
func FuzzSplit(f *testing.F) {
	for _, pattern := range []string{"*.ndjson", "*.json", "bad/*"} {
		files, _ := filepath.Glob(filepath.Join("../../testdata/fixtures", pattern))
		for _, file := range files {
			b, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b, false)
			f.Add(b, true)
		}
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
