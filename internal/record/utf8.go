// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package record

import (
	"strings"
	"unicode/utf8"
)

// TruncateUTF8 cuts s to at most n bytes on a character boundary, after
// replacing invalid UTF-8, so a cut never splits a character.
func TruncateUTF8(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
