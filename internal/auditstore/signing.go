package auditstore

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	"github.com/policyaudit/policyaudit/internal/pdatajson"
)

// Signer signs chain heads with an Ed25519 key. The private key lives in a
// file or an environment variable, never in the database: whoever can
// rewrite the database cannot sign what they wrote.
type Signer struct {
	priv  ed25519.PrivateKey
	pub   ed25519.PublicKey
	keyID string
}

// ParsePrivateKey reads an Ed25519 private key in PKCS#8 PEM ("PRIVATE
// KEY", as `openssl genpkey -algorithm ed25519` and `policyaudit keygen`
// write it).
func ParsePrivateKey(pemBytes []byte) (*Signer, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, errors.New("not a PEM \"PRIVATE KEY\" block (PKCS#8)")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parsing the PKCS#8 key: %w", err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("a %T, not an Ed25519 key", k)
	}
	pub := priv.Public().(ed25519.PublicKey)
	return &Signer{priv: priv, pub: pub, keyID: KeyID(pub)}, nil
}

// ParsePublicKey reads an Ed25519 public key in PKIX PEM ("PUBLIC KEY").
func ParsePublicKey(pemBytes []byte) (ed25519.PublicKey, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil || block.Type != "PUBLIC KEY" {
		return nil, errors.New("not a PEM \"PUBLIC KEY\" block")
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parsing the public key: %w", err)
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("a %T, not an Ed25519 key", k)
	}
	return pub, nil
}

// GenerateKey makes a new Ed25519 key pair as PEM: the PKCS#8 private key and
// the PKIX public key.
func GenerateKey() (privPEM, pubPEM []byte, err error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), PublicKeyPEM(pub), nil
}

// PublicKeyPEM writes pub as PKIX PEM.
func PublicKeyPEM(pub ed25519.PublicKey) []byte {
	der, _ := x509.MarshalPKIXPublicKey(pub)
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// KeyID names a public key: the first 16 hex digits of the SHA-256 of its
// PKIX DER encoding.
func KeyID(pub ed25519.PublicKey) string {
	der, _ := x509.MarshalPKIXPublicKey(pub)
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:8])
}

// PublicKey is the key that verifies this signer's signatures.
func (s *Signer) PublicKey() ed25519.PublicKey { return s.pub }

// KeyID names the signer's public key.
func (s *Signer) KeyID() string { return s.keyID }

// Sign signs msg.
func (s *Signer) Sign(msg []byte) []byte { return ed25519.Sign(s.priv, msg) }

// Reasons a head is signed.
const (
	SignedForRecords   = "records"   // every_records records since the last signed head
	SignedForInterval  = "interval"  // the signing interval passed with new records
	SignedForRetention = "retention" // a retention checkpoint: records up to seq were purged
	SignedForShutdown  = "shutdown"  // the collector stopped
)

// HeadStatement is what a signed head asserts: the chain reached seq with
// hash, at stored_ms. Its RFC 8785 encoding is what is signed.
type HeadStatement struct {
	Type           string `json:"type"`
	KeyID          string `json:"key_id"`
	Seq            int64  `json:"seq"`
	Hash           string `json:"hash"`
	StoredMS       int64  `json:"stored_ms"`
	SignedAt       string `json:"signed_at"`
	Reason         string `json:"reason"`
	PurgedBeforeMS int64  `json:"purged_before_ms,omitempty"` // retention: records stored before this time were purged
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
func (s *Signer) signHead(link Link, storedMS int64, at time.Time, reason string, purgedBeforeMS int64) (SignedHead, HeadStatement, error) {
	st := HeadStatement{Type: HeadStatementType, KeyID: s.keyID, Seq: link.Seq, Hash: link.Hash, StoredMS: storedMS,
		SignedAt: at.UTC().Format(time.RFC3339Nano), Reason: reason, PurgedBeforeMS: purgedBeforeMS}
	msg, err := canonicalJSON(st)
	if err != nil {
		return SignedHead{}, st, err
	}
	return SignedHead{Statement: msg, Signature: base64.StdEncoding.EncodeToString(s.Sign(msg))}, st, nil
}

// canonicalJSON is v's RFC 8785 encoding.
func canonicalJSON(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	obj, err := decodeJSON(b)
	if err != nil {
		return nil, err
	}
	return pdatajson.AppendCanonicalAny(nil, obj)
}

// Open checks the signature under pub and returns the statement. The
// statement must be in its canonical encoding, so what was signed is exactly
// what is read.
func (h SignedHead) Open(pub ed25519.PublicKey) (HeadStatement, error) {
	var st HeadStatement
	if err := json.Unmarshal(h.Statement, &st); err != nil {
		return st, fmt.Errorf("the statement is not JSON: %w", err)
	}
	sig, err := base64.StdEncoding.DecodeString(h.Signature)
	if err != nil {
		return st, errors.New("the signature is not base64")
	}
	if !ed25519.Verify(pub, h.Statement, sig) {
		if st.KeyID != KeyID(pub) {
			return st, fmt.Errorf("signed by key %s, not by the trusted key %s", st.KeyID, KeyID(pub))
		}
		return st, fmt.Errorf("the signature does not verify under key %s: the statement or its signature was changed", KeyID(pub))
	}
	if st.Type != HeadStatementType {
		return st, fmt.Errorf("the statement's type is %q, not %q", st.Type, HeadStatementType)
	}
	return st, nil
}
