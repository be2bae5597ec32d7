// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package evidence

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/policyaudit/policyaudit/internal/auditstore"
	"github.com/policyaudit/policyaudit/internal/signing"
)

// Options select what a bundle covers.
type Options struct {
	From, To time.Time // created_at in [From, To)
	Policy   string    // one policy's records; "" every policy
	// GapThreshold: stretches of the range with no record longer than it
	// are listed (default one hour).
	GapThreshold time.Duration
	Now          time.Time // the bundle's creation time (default time.Now)
	// FleetKeys are the public keys of the other collectors whose chains
	// a shared store holds (each signs its own chain's heads); the bundle
	// lists every key a head of it names.
	FleetKeys []ed25519.PublicKey
	// Chains limits the bundle to these chains of a shared store (nil:
	// every chain). A collector's periodic bundle carries its own chain.
	Chains []string
	// S3 are the signed S3 digests over the range (read from the bucket by
	// the caller): the bundle carries them, checked like the links.
	S3 []S3Trail
}

// Export writes the bundle of opts from st, signed by signer (the store's
// key: the one its heads are signed with), to w. It only reads the store.
func Export(ctx context.Context, st *auditstore.Store, signer *signing.Signer, opts Options, w io.Writer) (Summary, error) {
	files, sum, err := build(ctx, st, signer, &opts)
	if err != nil {
		return Summary{}, err
	}
	// The key signs only what holds: the runs read from the database are
	// checked as an auditor will check them (links, vouching, heads) before
	// the bundle leaves; a store rewritten without the key gives no bundle.
	res, err := verifyFiles(files, auditstore.NewKeyring(append([]ed25519.PublicKey{signer.PublicKey()}, opts.FleetKeys...)...))
	if err != nil {
		return Summary{}, err
	}
	if !res.OK {
		return Summary{}, fmt.Errorf("the store's chain does not hold over the range, no bundle written: %s", strings.Join(res.Problems, "; "))
	}
	return sum, writeTar(w, files, opts.Now)
}

// build reads the runs of opts's range and makes the bundle's files, signed.
func build(ctx context.Context, st *auditstore.Store, signer *signing.Signer, opts *Options) (map[string][]byte, Summary, error) {
	if signer == nil {
		return nil, Summary{}, errors.New("a signing key is required: the bundle's manifest is signed with the store's key")
	}
	if !opts.To.After(opts.From) {
		return nil, Summary{}, errors.New("--to must be after --from")
	}
	if opts.GapThreshold <= 0 {
		opts.GapThreshold = time.Hour
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	sn, err := st.Snapshot(ctx)
	if err != nil {
		return nil, Summary{}, err
	}
	defer sn.Close()
	chains, err := sn.Chains(ctx)
	if err != nil {
		return nil, Summary{}, err
	}
	if opts.Chains != nil {
		chains = slices.DeleteFunc(chains, func(c string) bool { return !slices.Contains(opts.Chains, c) })
	}
	keys := auditstore.NewKeyring(append([]ed25519.PublicKey{signer.PublicKey()}, opts.FleetKeys...)...)
	used := map[string]bool{signer.KeyID(): true}
	m := Manifest{Format: Format, From: opts.From.UTC().Format(time.RFC3339Nano), To: opts.To.UTC().Format(time.RFC3339Nano),
		Policy: opts.Policy, GapThreshold: opts.GapThreshold.String(), CreatedAt: opts.Now.UTC().Format(time.RFC3339), KeyID: signer.KeyID(),
		Chains: []ChainRun{}}
	var rows []auditstore.Row
	heads := []ChainHead{}
	var decoded []map[string]any
	for _, chain := range chains {
		sp, err := sn.SpanOf(ctx, chain, opts.From, opts.To, opts.Policy)
		if err != nil {
			return nil, Summary{}, err
		}
		if sp.Last == 0 {
			continue // no record of the range in this chain
		}
		h, hst, err := sn.ClosingHead(ctx, chain, sp.Last, opts.To)
		if errors.Is(err, auditstore.ErrNoClosingHead) {
			return nil, Summary{}, fmt.Errorf("chain %q: %w: no head was signed at or after %s over seq %d yet (the store signs every signing.interval while records arrive, and when it stops): try again later, or end the range earlier", chain, auditstore.ErrNoClosingHead, m.To, sp.Last)
		}
		if err != nil {
			return nil, Summary{}, err
		}
		if _, ok := keys[hst.KeyID]; !ok {
			return nil, Summary{}, fmt.Errorf("chain %q: its head at seq %d is signed by key %s, neither the store's key (%s) nor a fleet key given: give that collector's public key (--public-key), or leave its chain out (--chain)", chain, hst.Seq, hst.KeyID, signer.KeyID())
		}
		// The link before the first record shows that no earlier record
		// was stored in the range (unless retention purged it).
		first := sp.First
		if first-1 > sp.Checkpoint.Seq {
			first--
		}
		run := ChainRun{Chain: chain, FirstSeq: first, HeadSeq: hst.Seq, KeyID: hst.KeyID}
		err = sn.Links(ctx, chain, first, hst.Seq, func(r auditstore.Row) error {
			rows = append(rows, r)
			var rec map[string]any
			if err := json.Unmarshal(r.Record, &rec); err != nil {
				return fmt.Errorf("chain %q seq %d: %w", chain, r.Seq, err)
			}
			decoded = append(decoded, rec)
			return nil
		})
		if err != nil {
			return nil, Summary{}, err
		}
		m.Chains = append(m.Chains, run)
		// Every head within the run: together their vouched ranges show
		// which links a signing process appended itself.
		within, err := sn.HeadsWithin(ctx, chain, first, hst.Seq)
		if err != nil {
			return nil, Summary{}, err
		}
		for _, w := range within {
			if !bytes.Equal(w.Statement, h.Statement) {
				heads = append(heads, ChainHead{Chain: chain, SignedHead: w})
			}
		}
		heads = append(heads, ChainHead{Chain: chain, SignedHead: h})
	}
	for _, h := range heads {
		if id, err := keyIDOf(h.SignedHead); err == nil {
			used[id] = true
		}
	}
	sum := summarize(decoded, opts.From, opts.To, opts.Policy, opts.GapThreshold)
	files := map[string][]byte{
		FileRecords: encodeLines(rows),
		FileHeads:   compact(heads),
		FileKeys:    indented(keyList(keys, used)),
		FileSummary: summaryJSON(sum),
		FileCSV:     summaryCSV(sum),
	}
	names := []string{FileRecords, FileHeads, FileKeys, FileSummary, FileCSV, FileReport}
	if len(opts.S3) > 0 {
		files[FileDigests], m.S3 = encodeDigests(opts.S3)
		names = append(names, FileDigests)
		for _, tr := range opts.S3 {
			for _, d := range tr.Digests {
				used[d.Digest.KeyID] = true
			}
		}
		files[FileKeys] = indented(keyList(keys, used))
	}
	files[FileReport] = report(sum, m)
	for _, name := range names {
		m.Files = append(m.Files, FileEntry{Name: name, SHA256: sha(files[name]), Bytes: len(files[name])})
	}
	files[FileManifest] = indented(m)
	files[FileSignature] = []byte(signer.SignBase64(files[FileManifest]) + "\n")
	return files, sum, nil
}

// keyIDOf is the key a signed head names.
func keyIDOf(h auditstore.SignedHead) (string, error) {
	var st auditstore.HeadStatement
	err := json.Unmarshal(h.Statement, &st)
	return st.KeyID, err
}

// keyList is keys.json: the trusted keys that signed the manifest or a
// head of the bundle, by key ID.
func keyList(keys auditstore.Keyring, used map[string]bool) []Key {
	out := []Key{}
	for _, id := range slices.Sorted(maps.Keys(keys)) {
		if used[id] {
			out = append(out, Key{KeyID: id, PublicKey: string(signing.PublicKeyPEM(keys[id]))})
		}
	}
	return out
}
