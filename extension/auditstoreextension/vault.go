// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package auditstoreextension

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"

	"github.com/policyaudit/policyaudit/internal/record"
)

// KeepsVault reports whether the store keeps a token vault (vault.key is
// set): what the policydecision processor checks at start for tokenize.
func (e *auditStore) KeepsVault() bool { return len(e.cfg.Vault.Key) > 0 }

// Tokenize returns the token of each value, in order: the same token for
// a value every time, minted at random the first time and committed
// before Tokenize returns. A value in a token's form that this vault holds
// is its own token (a record an earlier instance tokenised); any other,
// token-like or not, is tokenised, so a caller cannot pass a forged token
// through. The values never leave the process: the vault gets their keyed
// hashes.
func (e *auditStore) Tokenize(ctx context.Context, values []string) ([]string, error) {
	if !e.KeepsVault() {
		return nil, errors.New("the audit store keeps no vault (vault.key is not set)")
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.store == nil {
		return nil, errors.New("the audit store is not open (not started, or shut down)")
	}
	var tokenLike []string
	for _, v := range values {
		if record.IsToken(v) {
			tokenLike = append(tokenLike, v)
		}
	}
	held := map[string]bool{}
	if len(tokenLike) > 0 {
		var err error
		if held, err = e.store.HeldTokens(ctx, tokenLike); err != nil {
			return nil, err
		}
	}
	out := make([]string, len(values))
	var lookups []string
	var at []int
	for i, v := range values {
		if held[v] {
			out[i] = v
			continue
		}
		lookups = append(lookups, e.lookup(v))
		at = append(at, i)
	}
	if len(lookups) == 0 {
		return out, nil
	}
	tokens, err := e.store.Tokens(ctx, lookups)
	if err != nil {
		return nil, err
	}
	for j, i := range at {
		out[i] = tokens[j]
	}
	return out, nil
}

// lookup is the vault's key for a value: hex HMAC-SHA256 under vault.key.
func (e *auditStore) lookup(value string) string {
	h := hmac.New(sha256.New, []byte(e.cfg.Vault.Key))
	h.Write([]byte(value))
	return hex.EncodeToString(h.Sum(nil))
}
