// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

// Package testfixtures reads the copies of the shared gateway fixtures
// (testdata/fixtures: every dialect, and bad/ inputs) for tests and as fuzz
// seeds.
package testfixtures // import "github.com/policyaudit/policyaudit/internal/testfixtures"
import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// Root is the repository's root directory.
var Root = func() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}()

// Dir is testdata/fixtures of the repository.
var Dir = filepath.Join(Root, "testdata", "fixtures")

// Bodies returns the content of every good fixture and, with bad, of every
// file under bad/ too.
func Bodies(tb testing.TB, bad bool) [][]byte {
	tb.Helper()
	patterns := []string{"*.ndjson", "*.json"}
	if bad {
		patterns = append(patterns, "bad/*")
	}
	var out [][]byte
	for _, pattern := range patterns {
		files, err := filepath.Glob(filepath.Join(Dir, pattern))
		if err != nil {
			tb.Fatal(err)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				tb.Fatal(err)
			}
			out = append(out, b)
		}
	}
	return out
}
