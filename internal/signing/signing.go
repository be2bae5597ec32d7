// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

// Package signing holds policyaudit's Ed25519 keys: the audit store signs
// its chain head and the S3 digests with them, and auditors verify with the
// public key.
package signing // import "github.com/policyaudit/policyaudit/internal/signing"
import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
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

// SignBase64 signs msg and returns the signature in standard base64.
func (s *Signer) SignBase64(msg []byte) string {
	return base64.StdEncoding.EncodeToString(s.Sign(msg))
}

// VerifyBase64 checks a base64 signature of msg under pub.
func VerifyBase64(pub ed25519.PublicKey, msg []byte, sig string) error {
	raw, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		return errors.New("the signature is not base64")
	}
	if !ed25519.Verify(pub, msg, raw) {
		return fmt.Errorf("the signature does not verify under key %s", KeyID(pub))
	}
	return nil
}
