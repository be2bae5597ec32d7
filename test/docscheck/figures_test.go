// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package docscheck

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/policyaudit/policyaudit/internal/testfixtures"
)

// figure is a measured figure: a latency, a rate, a ratio, a share, or a
// memory size said of RSS or a heap. Limits and defaults (a 64 MiB page,
// 256 MiB for the pod) are settings, not measurements, and are not matched.
var (
	figure       = regexp.MustCompile(`(?:^|[^\w.])\d[\d,.]*\s?(?:ms|µs|records/s|/s|%|×)(?:$|[^\w])`)
	memoryFigure = regexp.MustCompile(`(?:^|[^\w.])\d[\d,.]*\s?(?:MiB|MB|GiB|KiB)(?:$|[^\w])`)
	memoryWords  = regexp.MustCompile(`(?i)\b(rss|peak|idle|heap|resident|anonymous)\b`)
	// source names what prints a figure: a make target, a test, a
	// benchmark, a fuzz target, a results file, or the command itself.
	source = regexp.MustCompile("make [a-z-]+|go test|\\b(Test|Benchmark|Fuzz)[A-Z]\\w*|bench/results|policyaudit (verify|normalize|export)|gatewaysim|\\.ci/run")
)

// docs are the README, docs/ and the components' and examples' READMEs.
func docs(t *testing.T) []string {
	var out []string
	for _, pattern := range []string{"README.md", "CONTRIBUTING.md", "docs/*.md", "*/*/README.md", "*/*/*/README.md"} {
		m, err := filepath.Glob(filepath.Join(testfixtures.Root, pattern))
		require.NoError(t, err)
		out = append(out, m...)
	}
	require.Greater(t, len(out), 15)
	return out
}

// sections splits a document at its headings (outside code blocks).
func sections(text string) []string {
	var out []string
	var cur strings.Builder
	fenced := false
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "```") {
			fenced = !fenced
		}
		if !fenced && strings.HasPrefix(line, "#") && cur.Len() > 0 {
			out = append(out, cur.String())
			cur.Reset()
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
	}
	return append(out, cur.String())
}

// Every measured figure the docs quote names, in its line or in its section,
// the command, test or benchmark that prints it: a figure typed by hand,
// with nothing to re-run, fails here.
func TestEveryFigureNamesWhatPrintsIt(t *testing.T) {
	for _, path := range docs(t) {
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		rel, _ := filepath.Rel(testfixtures.Root, path)
		for _, sec := range sections(string(b)) {
			if source.MatchString(sec) {
				continue
			}
			for _, line := range strings.Split(sec, "\n") {
				if figure.MatchString(line) || memoryFigure.MatchString(line) && memoryWords.MatchString(line) {
					t.Errorf("%s: a figure with no command or test that prints it in its section: %q", rel, strings.TrimSpace(line))
				}
			}
		}
	}
}
