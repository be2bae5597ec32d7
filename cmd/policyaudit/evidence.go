// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/policyaudit/policyaudit/internal/auditstore"
	"github.com/policyaudit/policyaudit/internal/evidence"
	"github.com/policyaudit/policyaudit/internal/signing"
)

// evidenceCmd is `policyaudit evidence export|verify`.
func evidenceCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "export" && args[0] != "verify") {
		fmt.Fprintln(stderr, "usage: policyaudit evidence export --from T --to T [--policy P] [--chain C]... [--public-key FLEET.pem]... [--s3=false] [--s3-after D] --out BUNDLE.tar.gz --config FILE...\n       policyaudit evidence verify BUNDLE.tar.gz --public-key PUB.pem [--public-key PUB2.pem]...")
		return 2
	}
	if args[0] == "verify" {
		return evidenceVerify(args[1:], stdout, stderr)
	}
	return evidenceExport(ctx, args[1:], stdout, stderr)
}

// parseInterspersed parses flags given before or after the positional
// arguments (flag stops at the first non-flag) and returns the positional ones.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

func evidenceVerify(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("evidence verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var pubPaths stringList
	fs.Var(&pubPaths, "public-key", "the audit store's public key (PEM), from its owner, not from the bundle; repeat it for a fleet whose collectors sign with their own keys")
	rest, err := parseInterspersed(fs, args)
	if err != nil {
		return 2
	}
	if len(rest) != 1 || len(pubPaths) == 0 {
		fmt.Fprintln(stderr, "evidence verify: name one bundle and --public-key")
		return 2
	}
	pubs, err := readPublicKeys(pubPaths)
	if err != nil {
		fmt.Fprintln(stderr, "evidence verify:", err)
		return 2
	}
	keys := auditstore.NewKeyring(pubs...)
	f, err := os.Open(rest[0])
	if err != nil {
		fmt.Fprintln(stderr, "evidence verify:", err)
		return 2
	}
	defer f.Close()
	res, err := evidence.Verify(f, keys)
	if err != nil {
		fmt.Fprintln(stderr, "evidence verify:", err)
		return 2
	}
	m := res.Manifest
	if !res.OK {
		fmt.Fprintf(stdout, "FAILED: %s (%s to %s)\n", rest[0], m.From, m.To)
		for _, p := range res.Problems {
			fmt.Fprintln(stdout, "  "+p)
		}
		return 1
	}
	policy := ""
	if m.Policy != "" {
		policy = ", policy " + m.Policy
	}
	fmt.Fprintf(stdout, "ok: %d records created from %s to %s%s, in %d links of %d chain(s), each reaching a head signed after the range by a key given (%s); the summary, CSV and report are what the records say\n",
		res.Records, m.From, m.To, policy, res.Links, len(m.Chains), keys.IDs())
	return 0
}

func evidenceExport(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("evidence export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var configs stringList
	fs.Var(&configs, "config", "collector config file (repeatable, merged in order like the collector's --config)")
	from := fs.String("from", "", "RFC 3339: the first instant of the range (records by created_at)")
	to := fs.String("to", "", "RFC 3339: the end of the range, excluded")
	policy := fs.String("policy", "", "only this policy's records (policy_id)")
	out := fs.String("out", "", "the bundle to write (.tar.gz)")
	gap := fs.Duration("gap", time.Hour, "list stretches of the range with no record longer than this")
	var fleetKeys, chains stringList
	fs.Var(&fleetKeys, "public-key", "PEM public key of another collector whose chain the shared store holds (repeatable): its heads are checked under it and listed in the bundle")
	fs.Var(&chains, "chain", "only this chain of a shared store (repeatable; default: every chain)")
	withS3 := fs.Bool("s3", true, "carry the signed digests of the config's s3audit exporters over the range (read from the bucket)")
	s3After := fs.Duration("s3-after", time.Hour, "carry the digests up to this long after the range's end: the objects holding its last records are written after it")
	if _, err := parseInterspersed(fs, args); err != nil {
		return 2
	}
	fromT, toT, problems := parseRange(*from, *to)
	if *out == "" {
		problems = append(problems, "--out is required")
	}
	if len(configs) == 0 {
		problems = append(problems, "--config is required")
	}
	if len(problems) > 0 {
		fmt.Fprintln(stderr, "evidence export: "+strings.Join(problems, "; "))
		return 2
	}
	cfg, err := loadCollectorConfig(configs)
	if err != nil {
		fmt.Fprintln(stderr, "evidence export: reading the collector config:", err)
		return 2
	}
	st, signer, err := openStoreOf(ctx, cfg)
	if err != nil {
		fmt.Fprintln(stderr, "evidence export:", err)
		return 2
	}
	defer st.Close()
	opts := evidence.Options{From: fromT, To: toT, Policy: *policy, GapThreshold: *gap}
	if opts.FleetKeys, err = readPublicKeys(fleetKeys); err != nil {
		fmt.Fprintln(stderr, "evidence export:", err)
		return 2
	}
	if len(chains) > 0 {
		opts.Chains = chains
	}
	if *withS3 {
		keys := auditstore.NewKeyring(append([]ed25519.PublicKey{signer.PublicKey()}, opts.FleetKeys...)...)
		trails, digestKeys, err := evidenceS3Trails(ctx, cfg, keys, fromT, toT, *s3After)
		if err != nil {
			fmt.Fprintln(stderr, "evidence export:", err)
			return 2
		}
		opts.S3, opts.FleetKeys = trails, append(opts.FleetKeys, digestKeys...)
	}
	var b bytes.Buffer
	sum, err := evidence.Export(ctx, st, signer, opts, &b)
	if err != nil {
		fmt.Fprintln(stderr, "evidence export:", err)
		return 2
	}
	if err := os.WriteFile(*out, b.Bytes(), 0o644); err != nil {
		fmt.Fprintln(stderr, "evidence export:", err)
		return 2
	}
	fmt.Fprintf(stdout, "%s: %d records (%d decisions, %d admin events) created from %s to %s, signed by key %s\n",
		*out, sum.Records, sum.Decisions, sum.AdminEvents, sum.From, sum.To, signer.KeyID())
	return 0
}

// readPublicKeys reads PEM public keys, naming a file that holds none.
func readPublicKeys(paths []string) ([]ed25519.PublicKey, error) {
	var out []ed25519.PublicKey
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("--public-key: %w", err)
		}
		pub, err := signing.ParsePublicKey(b)
		if err != nil {
			return nil, fmt.Errorf("--public-key %s: %w", p, err)
		}
		out = append(out, pub)
	}
	return out, nil
}

// openStoreOf opens, to read, the audit store the config's auditstore
// extension names (its SQLite file, or its shared PostgreSQL store) and
// loads its signing key.
func openStoreOf(ctx context.Context, cfg collectorConfig) (*auditstore.Store, *signing.Signer, error) {
	ext, err := storeExtension(cfg)
	if err != nil {
		return nil, nil, err
	}
	var keyPEM []byte
	switch {
	case str(ext, "signing", "key_file") != "":
		if keyPEM, err = os.ReadFile(str(ext, "signing", "key_file")); err != nil {
			return nil, nil, fmt.Errorf("signing.key_file: %w", err)
		}
	case str(ext, "signing", "key") != "":
		keyPEM = []byte(str(ext, "signing", "key"))
	default:
		return nil, nil, errors.New("the audit store has no signing key in the config (signing.key_file): a bundle is signed with the store's key")
	}
	signer, err := signing.ParsePrivateKey(keyPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("signing key: %w", err)
	}
	st, err := openStore(ctx, ext)
	return st, signer, err
}

// storeExtensionID is the audit store of a config: the one a tokenize rule
// keeps its vault in (pii.vault), else the one the auditstore exporter
// appends to, else "auditstore".
func storeExtensionID(cfg collectorConfig) string {
	for _, name := range sortedKeys(mapAt(cfg, "processors")) {
		if v := str(cfg, "processors", name, "pii", "vault"); componentType(name) == "policydecision" && v != "" {
			return v
		}
	}
	for _, use := range cfg.exporters() {
		if use.Type == "auditstore" {
			return orDefault(str(use.Config, "store"), "auditstore")
		}
	}
	return "auditstore"
}

// storeExtension is the config of the config's audit store (storeExtensionID).
func storeExtension(cfg collectorConfig) (map[string]any, error) {
	id := storeExtensionID(cfg)
	ext := mapAt(cfg, "extensions", id)
	if ext == nil {
		return nil, fmt.Errorf("the config defines no audit store extension %s", id)
	}
	return ext, nil
}

// openStore opens the store of an auditstore extension's config, to read.
func openStore(ctx context.Context, ext map[string]any) (*auditstore.Store, error) {
	if str(ext, "backend") == "postgres" {
		return auditstore.OpenPostgres(ctx, auditstore.PostgresConfig{DSN: str(ext, "postgres", "dsn")})
	}
	path := orDefault(str(ext, "path"), "./data/audit.db")
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("the audit store's file: %w", err)
	}
	return auditstore.Open(ctx, path)
}

// parseRange reads --from and --to (RFC 3339), naming each bad one.
func parseRange(from, to string) (time.Time, time.Time, []string) {
	var problems []string
	fromT, err := time.Parse(time.RFC3339Nano, from)
	if err != nil {
		problems = append(problems, "--from: an RFC 3339 time is required")
	}
	toT, err := time.Parse(time.RFC3339Nano, to)
	if err != nil {
		problems = append(problems, "--to: an RFC 3339 time is required")
	}
	return fromT, toT, problems
}
