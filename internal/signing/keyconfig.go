// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package signing

import (
	"fmt"
	"os"

	"go.opentelemetry.io/collector/config/configopaque"
)

// KeyConfig is how a component is given its private key: a PEM file
// (policyaudit keygen, or openssl genpkey -algorithm ed25519), or the same
// PEM inline, e.g. ${env:POLICYAUDIT_SIGNING_KEY}. Components squash it into
// their own settings (signing.key_file, digest.key_file, ...).
type KeyConfig struct {
	KeyFile string              `mapstructure:"key_file"`
	Key     configopaque.String `mapstructure:"key"`
}

// Set reports whether a key is configured.
func (c KeyConfig) Set() bool { return c.KeyFile != "" || c.Key != "" }

// Ambiguous reports whether both a file and an inline key are given (the
// components' Validate refuses it, naming their own keys).
func (c KeyConfig) Ambiguous() bool { return c.KeyFile != "" && c.Key != "" }

// Signer reads the key, or returns nil when none is configured. Errors name
// key_file or key; the caller prefixes the section's name.
func (c KeyConfig) Signer() (*Signer, error) {
	if !c.Set() {
		return nil, nil
	}
	pemBytes, name := []byte(c.Key), "key"
	if c.KeyFile != "" {
		b, err := os.ReadFile(c.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("key_file: %w", err)
		}
		pemBytes, name = b, "key_file "+c.KeyFile
	}
	s, err := ParsePrivateKey(pemBytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return s, nil
}
