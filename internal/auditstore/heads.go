// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package auditstore

import (
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"time"

	"github.com/policyaudit/policyaudit/internal/pdatajson"
	"github.com/policyaudit/policyaudit/internal/signing"
)

// Reasons a head is signed.
const (
	SignedForRecords   = "records"   // every_records records since the last signed head
	SignedForInterval  = "interval"  // the signing interval passed with new records
	SignedForRetention = "retention" // a retention checkpoint: records up to seq were purged
	SignedForShutdown  = "shutdown"  // the collector stopped
	SignedForErasure   = "erasure"   // a subject was erased: its admin event is anchored at once
	SignedForExport    = "export"    // a subject export: the records it gives reach a signed head
)

// HeadStatement is what a signed head asserts: the chain reached seq with
// hash, at stored_ms, and the process that signed it saw the records from
// vouched_from to seq appended (or found them under an earlier signature).
// Its RFC 8785 encoding is what is signed.
//
// vouched_from is why a restart cannot launder a rewrite: a process signs
// the whole chain's hash, but vouches only for what it appended itself, so
// records an earlier process left unsigned (a crash, or someone with the
// disk) stay named as unvouched however often the head is signed again.
type HeadStatement struct {
	Type  string `json:"type"`
	KeyID string `json:"key_id"`
	// Chain names the chain of a shared store the head is of; a SQLite
	// file's one chain has none.
	Chain          string `json:"chain,omitempty"`
	Seq            int64  `json:"seq"`
	Hash           string `json:"hash"`
	StoredMS       int64  `json:"stored_ms"`
	SignedAt       string `json:"signed_at"`
	Reason         string `json:"reason"`
	PurgedBeforeMS int64  `json:"purged_before_ms,omitempty"` // retention: records stored before this time were purged
	// VouchedFrom is the first seq this signature vouches for; records
	// before it are vouched for only by earlier signatures. Heads signed
	// before it existed lack it (0): they vouched for the whole chain.
	VouchedFrom int64 `json:"vouched_from"`
}

// HeadStatementType is the type of every head statement.
const HeadStatementType = "policyaudit.audit_store.head.v1"

// SignedHead is a statement and its Ed25519 signature (base64): what the
// store keeps, the API returns and `policyaudit verify --signed-head` reads.
type SignedHead struct {
	Statement json.RawMessage `json:"statement"`
	Signature string          `json:"signature"`
}

// signHead makes the signed head of a link.
func signHead(s *signing.Signer, chain string, link Link, storedMS int64, at time.Time, reason string, purgedBeforeMS, vouchedFrom int64) (SignedHead, HeadStatement, error) {
	st := HeadStatement{Type: HeadStatementType, KeyID: s.KeyID(), Chain: chain, Seq: link.Seq, Hash: link.Hash, StoredMS: storedMS,
		SignedAt: at.UTC().Format(time.RFC3339Nano), Reason: reason, PurgedBeforeMS: purgedBeforeMS, VouchedFrom: vouchedFrom}
	msg, err := pdatajson.CanonicalJSON(st)
	if err != nil {
		return SignedHead{}, st, err
	}
	return SignedHead{Statement: msg, Signature: s.SignBase64(msg)}, st, nil
}

// Open checks the signature, over the statement's bytes as stored, under
// pub and returns the statement.
func (h SignedHead) Open(pub ed25519.PublicKey) (HeadStatement, error) {
	var st HeadStatement
	if err := json.Unmarshal(h.Statement, &st); err != nil {
		return st, fmt.Errorf("the statement is not JSON: %w", err)
	}
	if err := signing.VerifyBase64(pub, h.Statement, h.Signature); err != nil {
		if st.KeyID != signing.KeyID(pub) {
			return st, fmt.Errorf("signed by key %s, not by the trusted key %s", st.KeyID, signing.KeyID(pub))
		}
		return st, fmt.Errorf("%w: the statement or its signature was changed", err)
	}
	if st.Type != HeadStatementType {
		return st, fmt.Errorf("the statement's type is %q, not %q", st.Type, HeadStatementType)
	}
	return st, nil
}
