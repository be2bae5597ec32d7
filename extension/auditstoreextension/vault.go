// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package auditstoreextension

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
)

// KeepsVault reports whether the store keeps a token vault (vault.key is
// set): what the policydecision processor checks at start for tokenize.
func (e *auditStore) KeepsVault() bool { return len(e.cfg.Vault.Key) > 0 }

// Tokenize returns the token of each value, in order: the same token for
// a value every time, minted at random the first time and committed
// before Tokenize returns. The values never leave the process: the vault
// gets their keyed hashes.
func (e *auditStore) Tokenize(ctx context.Context, values []string) ([]string, error) {
	if !e.KeepsVault() {
		return nil, errors.New("the audit store keeps no vault (vault.key is not set)")
	}
	lookups := make([]string, len(values))
	for i, v := range values {
		lookups[i] = e.lookup(v)
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.store == nil {
		return nil, errors.New("the audit store is not open (not started, or shut down)")
	}
	return e.store.Tokens(ctx, lookups)
}

// lookup is the vault's key for a value: hex HMAC-SHA256 under vault.key.
func (e *auditStore) lookup(value string) string {
	h := hmac.New(sha256.New, []byte(e.cfg.Vault.Key))
	h.Write([]byte(value))
	return hex.EncodeToString(h.Sum(nil))
}
