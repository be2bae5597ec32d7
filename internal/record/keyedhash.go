// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package record

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// The PII policy's hash action writes a value as its keyed hash:
// HMAC-SHA256 under the processor's hash_key, hex, with its algorithm
// named ("hmac-sha256:<64 hex>"). The processor writes it and `policyaudit
// subject erase` looks for it in the copies; this is its one definition.

// KeyedHashPrefix names the keyed hash's algorithm in the value.
const KeyedHashPrefix = "hmac-sha256:"

// AppendKeyedHash appends the keyed-hash form of an HMAC-SHA256 sum.
func AppendKeyedHash(dst, sum []byte) []byte {
	dst = append(dst, KeyedHashPrefix...)
	return hex.AppendEncode(dst, sum)
}

// KeyedHash is value's keyed hash under key, as the hash action writes it.
func KeyedHash(key []byte, value string) string {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(value))
	return string(AppendKeyedHash(make([]byte, 0, len(KeyedHashPrefix)+2*sha256.Size), h.Sum(nil)))
}

// IsKeyedHash reports a value in the form the hash action writes.
func IsKeyedHash(s string) bool {
	rest, ok := strings.CutPrefix(s, KeyedHashPrefix)
	if !ok || len(rest) != 2*sha256.Size {
		return false
	}
	_, err := hex.DecodeString(rest)
	return err == nil
}
