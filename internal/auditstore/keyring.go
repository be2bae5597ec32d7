// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package auditstore

import (
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/policyaudit/policyaudit/internal/signing"
)

// Keyring is the public keys a verification trusts, by key ID: one for a
// collector, one or more for a fleet whose collectors sign with their own.
type Keyring map[string]ed25519.PublicKey

// NewKeyring trusts keys.
func NewKeyring(keys ...ed25519.PublicKey) Keyring {
	k := Keyring{}
	for _, pub := range keys {
		k[signing.KeyID(pub)] = pub
	}
	return k
}

// IDs names the keys, sorted and comma-separated.
func (k Keyring) IDs() string {
	ids := make([]string, 0, len(k))
	for id := range k {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return strings.Join(ids, ", ")
}

// Open checks a signed head under the trusted key it names.
func (k Keyring) Open(h SignedHead) (HeadStatement, error) {
	var claim HeadStatement
	if err := json.Unmarshal(h.Statement, &claim); err != nil {
		return claim, fmt.Errorf("the statement is not JSON: %w", err)
	}
	pub, ok := k[claim.KeyID]
	if !ok {
		if len(k) == 1 {
			for _, only := range k {
				return h.Open(only) // names the one trusted key it fails
			}
		}
		return claim, fmt.Errorf("signed by key %s, not by a trusted key (%s)", claim.KeyID, k.IDs())
	}
	return h.Open(pub)
}
