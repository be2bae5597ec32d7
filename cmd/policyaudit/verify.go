// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/policyaudit/policyaudit/internal/auditstore"
	"github.com/policyaudit/policyaudit/internal/pdatajson"
)

func verify(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "s3" {
		return verifyS3(ctx, args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	expectHead := fs.String("expect-head", "", "SEQ:HASH the database's chain must reach (as logged by the exporter or returned by /api/v1/verify), so a cut tail is detected")
	var publicKeys stringList
	fs.Var(&publicKeys, "public-key", "PEM file of the store's Ed25519 public key: checks the signed heads and the retention checkpoint (a cut prefix, a rewritten or rolled-back chain); repeat it for a fleet whose collectors sign with their own keys")
	postgres := fs.String("postgres", "", "the DSN of a fleet's shared PostgreSQL store to verify (every chain, and the signed registry of chains), instead of a file")
	signedHead := fs.String("signed-head", "", "JSON file of a signed head kept outside the host (GET /api/v1/head, or the collector's log): the chain must reach it (needs --public-key)")
	from := fs.String("from", "", "SEQ:HASH the first exported line must follow (default: the first line's own prev_hash)")
	var fromS3 s3Head
	fs.StringVar(&fromS3.uri, "from-s3", "", "s3://BUCKET/DIGEST-PREFIX: the chain must reach the newest audit store head the S3 digests there carry (needs --public-key, which must also have signed the digests)")
	fs.StringVar(&fromS3.endpoint, "s3-endpoint", "", "an S3-compatible endpoint for --from-s3 (path-style addressing)")
	fs.StringVar(&fromS3.region, "s3-region", "us-east-1", "the region of --from-s3's bucket")
	var lookup correlationFlags
	lookup.register(fs)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if lookup.id != "" || len(lookup.configs) > 0 {
		if lookup.id == "" || len(lookup.configs) == 0 || fs.NArg() > 0 {
			fmt.Fprintln(stderr, "verify: --correlation-id and --config go together, without files")
			return 2
		}
		return locate(ctx, lookup.id, lookup.configs, lookup.date, stdout, stderr)
	}
	if fs.NArg() == 0 && *postgres == "" {
		fmt.Fprintln(stderr, "verify: name a database file or JSON-lines files, or --postgres DSN")
		return 2
	}
	var rep auditstore.Report
	var err error
	opts, err := verifyOptions(publicKeys, *signedHead, *expectHead)
	if *postgres != "" {
		if err == nil && (fs.NArg() > 0 || len(opts.Expect) > 0 || fromS3.uri != "") {
			err = errors.New("--postgres verifies the shared store alone: its signed registry carries every chain's head (no files, --signed-head, --expect-head or --from-s3)")
		}
		if err != nil {
			fmt.Fprintln(stderr, "verify:", err)
			return 2
		}
		return verifyPostgres(ctx, *postgres, opts, stdout, stderr)
	}
	var s3Problems []string
	if err == nil && fromS3.uri != "" {
		s3Problems, err = expectFromS3(ctx, fromS3, &opts, stdout)
	}
	if err != nil {
		fmt.Fprintln(stderr, "verify:", err)
		return 2
	}
	if isSQLite(fs.Arg(0)) {
		rep, err = verifyDB(ctx, fs.Arg(0), opts)
	} else {
		rep, err = verifyLines(fs.Args(), *from, opts)
	}
	if err != nil {
		fmt.Fprintln(stderr, "verify:", err)
		return 2
	}
	for _, p := range s3Problems {
		fmt.Fprintln(stdout, "BROKEN in S3:", p)
	}
	if !rep.OK {
		fmt.Fprintf(stdout, "BROKEN at seq %d: %s\n", rep.FirstBad, rep.Problem)
		return 1
	}
	if len(s3Problems) > 0 {
		return 1
	}
	fmt.Fprintf(stdout, "ok: %d records, seq %d to %d, head hash %s\n", rep.Records, rep.Checkpoint.Seq+1, rep.Head.Seq, rep.Head.Hash)
	switch {
	case !rep.Anchored:
		fmt.Fprintln(stdout, "not anchored: without --public-key a cut prefix, a rewritten chain or a rolled-back file cannot be told from an intact one")
	case rep.SignedHead == nil:
		fmt.Fprintf(stdout, "anchored by key %s: no signed head yet; %d records unsigned\n", rep.KeyID, rep.UnsignedRecords)
	default:
		fmt.Fprintf(stdout, "anchored by key %s: signed head at seq %d; %d records after it unsigned\n", rep.KeyID, rep.SignedHead.Seq, rep.UnsignedRecords)
	}
	if len(rep.Unvouched) == 0 {
		return 0
	}
	for _, r := range rep.Unvouched {
		fmt.Fprintf(stdout, "UNVOUCHED seq %d to %d: appended by a process that stopped before signing them, and no later signature vouches for them; covered only by the links (a crash, or a rewrite by someone with the disk: a signed head kept off the host tells which)\n", r.From, r.To)
	}
	return exitUnvouched
}

// exitUnvouched: the links are intact and every signature verifies, but
// some records before the newest signed head were never vouched for.
const exitUnvouched = 3

// verifyOptions reads what the auditor trusts: the public key, a signed head
// kept elsewhere, an expected head.
func verifyOptions(publicKeys []string, signedHead, expectHead string) (auditstore.VerifyOptions, error) {
	var opts auditstore.VerifyOptions
	pubs, err := readPublicKeys(publicKeys)
	if err != nil {
		return opts, err
	}
	if len(pubs) > 0 {
		opts.PublicKey, opts.MoreKeys = pubs[0], pubs[1:]
	}
	if signedHead != "" {
		if opts.PublicKey == nil {
			return opts, errors.New("--signed-head needs --public-key")
		}
		b, err := os.ReadFile(signedHead)
		if err != nil {
			return opts, fmt.Errorf("--signed-head: %w", err)
		}
		var sh auditstore.SignedHead
		if err := json.Unmarshal(b, &sh); err != nil {
			return opts, fmt.Errorf("--signed-head %s: not a signed head: %w", signedHead, err)
		}
		st, err := sh.Open(opts.PublicKey)
		if err != nil {
			return opts, fmt.Errorf("--signed-head %s: %w", signedHead, err)
		}
		opts.Expect = []auditstore.Link{{Seq: st.Seq, Hash: st.Hash}}
	}
	if expectHead != "" {
		if len(opts.Expect) > 0 {
			return opts, errors.New("--signed-head and --expect-head: give one")
		}
		want, err := parseLink(expectHead)
		if err != nil {
			return opts, fmt.Errorf("--expect-head: %w", err)
		}
		opts.Expect = []auditstore.Link{want}
	}
	return opts, nil
}

// expectFromS3 makes the chain reach and match the heads found in S3, and
// returns what in the digest trail does not hold.
func expectFromS3(ctx context.Context, h s3Head, opts *auditstore.VerifyOptions, stdout io.Writer) ([]string, error) {
	switch {
	case opts.PublicKey == nil:
		return nil, errors.New("--from-s3 needs --public-key")
	case len(opts.Expect) > 0:
		return nil, errors.New("--from-s3, --signed-head and --expect-head: give one")
	}
	found, problems, err := h.heads(ctx, opts.PublicKey)
	if err != nil || len(found) == 0 {
		return problems, err
	}
	newest := found[len(found)-1]
	for _, f := range found {
		opts.Expect = append(opts.Expect, auditstore.Link{Seq: f.statement.Seq, Hash: f.statement.Hash})
	}
	fmt.Fprintf(stdout, "the chain must match the %d audit store heads the S3 digests carry, up to the head at seq %d signed at %s (digest %s)\n",
		len(found), newest.statement.Seq, newest.statement.SignedAt, newest.digest)
	return problems, nil
}

func isSQLite(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	magic := make([]byte, 16)
	n, _ := io.ReadFull(f, magic)
	return n == 16 && string(magic) == "SQLite format 3\x00"
}

func parseLink(s string) (auditstore.Link, error) {
	seq, hash, ok := strings.Cut(s, ":")
	n, err := strconv.ParseInt(seq, 10, 64)
	if !ok || err != nil || len(hash) != 64 {
		return auditstore.Link{}, fmt.Errorf("%q is not SEQ:HASH (a sequence number and 64 hex digits)", s)
	}
	return auditstore.Link{Seq: n, Hash: hash}, nil
}

func verifyDB(ctx context.Context, path string, opts auditstore.VerifyOptions) (auditstore.Report, error) {
	st, err := auditstore.Open(ctx, path)
	if err != nil {
		return auditstore.Report{}, err
	}
	defer st.Close()
	return st.VerifyWith(ctx, opts)
}

// line is one exported link: what `policyaudit export` and the query API write.
type line struct {
	Seq      *int64          `json:"seq"`
	StoredMS int64           `json:"stored_ms"`
	PrevHash string          `json:"prev_hash"`
	Hash     string          `json:"hash"`
	Record   json.RawMessage `json:"record"`
}

// verifyLines checks exported links. Exported lines carry no signed heads:
// with --signed-head (or --expect-head) the lines must reach that head.
func verifyLines(paths []string, from string, opts auditstore.VerifyOptions) (auditstore.Report, error) {
	var chain *auditstore.Chain
	start := func(cp auditstore.Checkpoint) {
		chain = auditstore.NewChain(cp)
		for _, l := range opts.Expect {
			chain.Expect(l)
		}
	}
	if from != "" {
		cp, err := parseLink(from)
		if err != nil {
			return auditstore.Report{}, fmt.Errorf("--from: %w", err)
		}
		start(auditstore.Checkpoint{Link: cp})
	}
	for _, path := range paths {
		f, err := os.Open(path)
		if err != nil {
			return auditstore.Report{}, err
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for n := 1; sc.Scan(); n++ {
			raw := bytes.TrimSpace(sc.Bytes())
			if len(raw) == 0 {
				continue
			}
			var l line
			if err := json.Unmarshal(raw, &l); err != nil || l.Seq == nil || l.Hash == "" || len(l.Record) == 0 {
				f.Close()
				return auditstore.Report{}, fmt.Errorf("%s line %d: not an exported chain link (seq, prev_hash, hash, record)", path, n)
			}
			if chain == nil {
				start(auditstore.Checkpoint{Link: auditstore.Link{Seq: *l.Seq - 1, Hash: l.PrevHash}})
			}
			// Hash the canonical encoding, so re-indented exports still verify.
			canonical, err := canonicalize(l.Record)
			if err != nil {
				canonical = l.Record
			}
			if !chain.Next(*l.Seq, l.StoredMS, l.PrevHash, l.Hash, canonical, nil) {
				f.Close()
				return chain.Finish(), nil
			}
		}
		f.Close()
		if err := sc.Err(); err != nil {
			return auditstore.Report{}, fmt.Errorf("%s: %w", path, err)
		}
	}
	if chain == nil {
		return auditstore.Report{}, errors.New("no chain links in the files")
	}
	return chain.Finish(), nil
}

func canonicalize(raw []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return pdatajson.AppendCanonicalAny(nil, v)
}
