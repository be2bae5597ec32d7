// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package evidence

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
	res, err := verifyFiles(files, signer.PublicKey())
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
		if hst.KeyID != signer.KeyID() {
			return nil, Summary{}, fmt.Errorf("chain %q: its head at seq %d is signed by key %s, not by the key given (%s)", chain, hst.Seq, hst.KeyID, signer.KeyID())
		}
		// The link before the first record shows that no earlier record
		// was stored in the range (unless retention purged it).
		first := sp.First
		if first-1 > sp.Checkpoint.Seq {
			first--
		}
		run := ChainRun{Chain: chain, FirstSeq: first, HeadSeq: hst.Seq}
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
	sum := summarize(decoded, opts.From, opts.To, opts.Policy, opts.GapThreshold)
	files := map[string][]byte{
		FileRecords: encodeLines(rows),
		FileHeads:   compact(heads),
		FileKeys:    indented([]Key{{KeyID: signer.KeyID(), PublicKey: string(signing.PublicKeyPEM(signer.PublicKey()))}}),
		FileSummary: summaryJSON(sum),
		FileCSV:     summaryCSV(sum),
	}
	files[FileReport] = report(sum, m)
	for _, name := range []string{FileRecords, FileHeads, FileKeys, FileSummary, FileCSV, FileReport} {
		m.Files = append(m.Files, FileEntry{Name: name, SHA256: sha(files[name]), Bytes: len(files[name])})
	}
	files[FileManifest] = indented(m)
	files[FileSignature] = []byte(signer.SignBase64(files[FileManifest]) + "\n")
	return files, sum, nil
}
