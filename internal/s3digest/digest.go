// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

// Package s3digest defines the signed digests the s3audit exporter writes
// beside its S3 objects, as CloudTrail writes digest files beside its logs:
// each digest lists every object written in its interval with the SHA-256 of
// its uncompressed content, and names the previous digest by key, hash and
// signature, so deleting, changing or adding an object or a digest is seen
// by anyone holding the public key (policyaudit verify s3).
package s3digest // import "github.com/policyaudit/policyaudit/internal/s3digest"
import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/policyaudit/policyaudit/internal/auditstore"
	"github.com/policyaudit/policyaudit/internal/pdatajson"
	"github.com/policyaudit/policyaudit/internal/signing"
)

// Type is the type of every digest.
const Type = "policyaudit.s3.digest.v1"

// Object metadata keys of a digest object (x-amz-meta-*).
const (
	MetaSignature = "signature"
	MetaKeyID     = "key-id"
)

// SignatureSuffix names the detached signature object beside a digest.
const SignatureSuffix = ".sig"

// Object is one data object a digest vouches for.
type Object struct {
	Key     string `json:"key"`
	SHA256  string `json:"sha256"` // of the uncompressed content
	Records int    `json:"records"`
	Oldest  string `json:"oldest_created_at"`
	Newest  string `json:"newest_created_at"`
	// Protection is the encryption and retention the object was written
	// with (none: written without archive controls).
	Protection
}

// Protection is what S3 was asked to keep of an object: server-side
// encryption and an Object Lock retention. policyaudit verify s3 checks
// each object still has it.
type Protection struct {
	// Encryption is the server-side encryption (AES256, aws:kms).
	Encryption string `json:"encryption,omitempty"`
	KMSKeyID   string `json:"kms_key_id,omitempty"`
	// LockMode is the Object Lock mode (GOVERNANCE, COMPLIANCE) and
	// RetainUntil its date (RFC 3339, UTC, seconds).
	LockMode    string `json:"lock_mode,omitempty"`
	RetainUntil string `json:"retain_until,omitempty"`
	LegalHold   bool   `json:"legal_hold,omitempty"`
}

// Previous names the digest before this one.
type Previous struct {
	Key       string `json:"key"`
	SHA256    string `json:"sha256"`    // of the previous digest's bytes
	Signature string `json:"signature"` // the previous digest's signature
	KeyID     string `json:"key_id"`    // differs from this digest's after a key rotation
}

// Digest lists the objects written in [Start, End).
type Digest struct {
	Type   string `json:"type"`
	KeyID  string `json:"key_id"`
	Bucket string `json:"bucket"`
	// DigestPrefix is where the digest chain lives: with Bucket, what makes
	// a trail copied elsewhere fail to verify as that place's own.
	DigestPrefix string    `json:"digest_prefix"`
	Start        string    `json:"start"` // RFC 3339, UTC, milliseconds
	End          string    `json:"end"`
	Objects      []Object  `json:"objects"`
	Previous     *Previous `json:"previous"` // nil: the first digest of a chain
	// AuditStoreHead is the newest signed head of the collector's audit
	// store when the digest was made: a copy the host cannot rewrite, which
	// catches a rollback, a cut tail or a countersigned rewrite of the
	// store (policyaudit verify --from-s3). Absent when none is configured.
	AuditStoreHead *auditstore.SignedHead `json:"audit_store_head,omitempty"`
}

// TimeLayout formats a digest's start and end.
const TimeLayout = "2006-01-02T15:04:05.000Z"

// Key is where the digest that ends at end is written: under prefix, in the
// end's UTC date partition, named by the end time so keys sort in time.
func Key(prefix string, end time.Time) string {
	end = end.UTC()
	return strings.TrimSuffix(prefix, "/") + "/date=" + end.Format("2006-01-02") + "/" + end.Format("20060102T150405.000Z") + "_digest.json"
}

// IsDigestKey tells digest objects from their signatures and from data.
func IsDigestKey(key string) bool { return strings.HasSuffix(key, "_digest.json") }

// Signed is a digest's bytes (RFC 8785) and its Ed25519 signature (base64).
type Signed struct {
	Key       string
	Bytes     []byte
	Signature string
	Digest    Digest
}

// SHA256 is the hex SHA-256 of the digest's bytes.
func (s Signed) SHA256() string {
	sum := sha256.Sum256(s.Bytes)
	return hex.EncodeToString(sum[:])
}

// AsPrevious is how the next digest names this one.
func (s Signed) AsPrevious() *Previous {
	return &Previous{Key: s.Key, SHA256: s.SHA256(), Signature: s.Signature, KeyID: s.Digest.KeyID}
}

// Sign encodes d canonically and signs it.
func Sign(signer *signing.Signer, key string, d Digest) (Signed, error) {
	d.Type, d.KeyID = Type, signer.KeyID()
	if d.Objects == nil {
		d.Objects = []Object{}
	}
	b, err := pdatajson.CanonicalJSON(d)
	if err != nil {
		return Signed{}, err
	}
	return Signed{Key: key, Bytes: b, Signature: signer.SignBase64(b), Digest: d}, nil
}

// Open checks a digest's signature, over its bytes as stored, under the key
// its key_id names among keys.
func Open(key string, b []byte, signature string, keys map[string]ed25519.PublicKey) (Signed, error) {
	var d Digest
	if err := json.Unmarshal(b, &d); err != nil {
		return Signed{}, fmt.Errorf("not a digest: %w", err)
	}
	if d.Type != Type {
		return Signed{}, fmt.Errorf("type %q, not %q", d.Type, Type)
	}
	pub, ok := keys[d.KeyID]
	if !ok {
		return Signed{}, fmt.Errorf("signed by key %s, which is not a trusted key", d.KeyID)
	}
	if err := signing.VerifyBase64(pub, b, signature); err != nil {
		return Signed{}, fmt.Errorf("%w: the digest or its signature was changed, or another key signed it", err)
	}
	return Signed{Key: key, Bytes: b, Signature: signature, Digest: d}, nil
}
