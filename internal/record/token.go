// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package record

import "regexp"

// TokenPrefix starts every token the PII action tokenize writes in place
// of a person's value: "tok_" and 26 lower-case base32 letters (128 random
// bits, minted by the audit store's vault), so a token is told from a
// value, a keyed hash or a placeholder at a glance and by IsToken.
const TokenPrefix = "tok_"

// TokenLength is the length of a token.
const TokenLength = len(TokenPrefix) + 26

var tokenForm = regexp.MustCompile(`^tok_[a-z2-7]{26}$`)

// IsToken reports a value in the form of a vault token.
func IsToken(s string) bool { return len(s) == TokenLength && tokenForm.MatchString(s) }
