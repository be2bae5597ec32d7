// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/policyaudit/policyaudit/internal/signing"
)

// keygen writes a new Ed25519 signing key (PKCS#8 PEM, mode 0600) for the
// audit store and prints its public key (PKIX PEM) for the auditors.
func keygen(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("keygen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("private-key", "", "file to write the private key to (must not exist)")
	pubOut := fs.String("public-key", "", "also write the public key to this file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *out == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "keygen: --private-key FILE is required")
		return 2
	}
	priv, pub, err := signing.GenerateKey()
	if err == nil {
		err = writeNew(*out, priv, 0o600)
	}
	if err == nil && *pubOut != "" {
		err = writeNew(*pubOut, pub, 0o644)
	}
	if err != nil {
		fmt.Fprintln(stderr, "keygen:", err)
		return 2
	}
	signer, err := signing.ParsePrivateKey(priv)
	if err != nil {
		fmt.Fprintln(stderr, "keygen:", err)
		return 2
	}
	fmt.Fprintf(stdout, "# key %s\n%s", signer.KeyID(), pub)
	return 0
}

// pubkey prints the public key of a private key file.
func pubkey(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "pubkey: name one private key file")
		return 2
	}
	b, err := os.ReadFile(args[0])
	if err != nil {
		fmt.Fprintln(stderr, "pubkey:", err)
		return 2
	}
	signer, err := signing.ParsePrivateKey(b)
	if err != nil {
		fmt.Fprintln(stderr, "pubkey:", args[0]+":", err)
		return 2
	}
	fmt.Fprintf(stdout, "# key %s\n%s", signer.KeyID(), signing.PublicKeyPEM(signer.PublicKey()))
	return 0
}

// writeNew writes a file that must not exist yet, so a key is never
// overwritten by accident.
func writeNew(path string, b []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	return errors.Join(err, f.Close())
}
