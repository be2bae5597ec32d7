// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package evidence

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/policyaudit/policyaudit/internal/auditstore"
	"github.com/policyaudit/policyaudit/internal/signing"
)

// Result is what Verify found.
type Result struct {
	OK       bool     `json:"ok"`
	Problems []string `json:"problems,omitempty"`
	// Records are the records in the range (of the policy); Links every
	// link the bundle carries.
	Records  int      `json:"records"`
	Links    int      `json:"links"`
	Manifest Manifest `json:"manifest"`
}

func (r *Result) problem(format string, args ...any) {
	r.OK = false
	r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
}

// Verify checks a bundle offline under keys (the public keys the auditor
// was given by the store's owner: one, or one per collector of a fleet):
// the manifest's signature, every file's SHA-256, each chain's run link by
// link from its first record to a head signed (under a trusted key) after
// the range's end, that the run starts
// before the range, and that the summary, the CSV and the report are what
// the records say. Every problem is named; an error is returned only for a
// bundle that cannot be read at all.
func Verify(r io.Reader, keys auditstore.Keyring) (Result, error) {
	files, err := readTar(r)
	if err != nil {
		return Result{OK: true}, err
	}
	return verifyFiles(files, keys)
}

// verifyFiles is Verify of a bundle's files.
func verifyFiles(files map[string][]byte, keys auditstore.Keyring) (Result, error) {
	res := Result{OK: true}
	manifest, ok := files[FileManifest]
	if !ok {
		return res, fmt.Errorf("%s is missing: not an evidence bundle", FileManifest)
	}
	m := &res.Manifest
	if err := json.Unmarshal(manifest, m); err != nil {
		res.problem("%s: %v", FileManifest, err)
		return res, nil
	}
	checkManifestSignature(&res, manifest, files[FileSignature], keys)
	if m.Format != Format {
		res.problem("%s: format %q, not %q", FileManifest, m.Format, Format)
	}
	checkFiles(&res, files)
	from, errFrom := time.Parse(time.RFC3339Nano, m.From)
	to, errTo := time.Parse(time.RFC3339Nano, m.To)
	gap, errGap := time.ParseDuration(m.GapThreshold)
	if errFrom != nil || errTo != nil || errGap != nil {
		res.problem("%s: from, to or gap_threshold unreadable", FileManifest)
		return res, nil
	}
	heads := openHeads(&res, files[FileHeads], keys, to)
	rows, err := readRows(files[FileRecords])
	if err != nil {
		res.problem("%s: %v", FileRecords, err)
		return res, nil
	}
	res.Links = len(rows)
	byChain := map[string][]auditstore.Row{}
	var order []string
	for _, row := range rows {
		if _, seen := byChain[row.Chain]; !seen {
			order = append(order, row.Chain)
		}
		byChain[row.Chain] = append(byChain[row.Chain], row)
	}
	runs := map[string]ChainRun{}
	for _, run := range m.Chains {
		runs[run.Chain] = run
	}
	for _, chain := range order {
		if _, ok := runs[chain]; !ok {
			res.problem("%s: chain %q is not in the manifest", FileRecords, chain)
		}
	}
	var decoded []map[string]any
	for _, run := range m.Chains {
		var closing auditstore.HeadStatement
		if ch := heads[run.Chain]; ch != nil {
			closing = ch.closing
		}
		decoded = append(decoded, checkRun(&res, run, byChain[run.Chain], closing, from)...)
		checkVouched(&res, fmt.Sprintf("chain %q", run.Chain), byChain[run.Chain], heads[run.Chain], from)
	}
	for _, rec := range decoded {
		if _, ok := inRange(rec, from, to, m.Policy); ok {
			res.Records++
		}
	}
	if len(m.S3) > 0 || files[FileDigests] != nil {
		hashAt := map[string]map[int64]string{}
		for chain, rs := range byChain {
			hashAt[chain] = map[int64]string{}
			for _, r := range rs {
				hashAt[chain][r.Seq] = r.Hash
			}
		}
		checkDigests(&res, files[FileDigests], keys, from, to, hashAt)
	}
	checkSummary(&res, files, summarize(decoded, from, to, m.Policy, gap), *m)
	return res, nil
}

// checkManifestSignature checks manifest.sig under the trusted key the
// manifest names (the only one, when one is trusted: a manifest naming
// another key was re-signed).
func checkManifestSignature(res *Result, manifest, sig []byte, keys auditstore.Keyring) {
	pub, ok := keys[res.Manifest.KeyID]
	if !ok && len(keys) == 1 {
		for _, only := range keys {
			pub, ok = only, true
		}
	}
	if !ok {
		res.problem("%s: the manifest names key %s, not a key given (%s): it was re-signed with another key", FileSignature, res.Manifest.KeyID, keys.IDs())
		return
	}
	if err := signing.VerifyBase64(pub, manifest, strings.TrimSpace(string(sig))); err != nil {
		res.problem("%s: the manifest is not signed by the given key %s (%v): it was changed, or re-signed with another key", FileSignature, signing.KeyID(pub), err)
	}
}

// checkFiles compares each file with the manifest's SHA-256 and size, and
// refuses a file the manifest does not list.
func checkFiles(res *Result, files map[string][]byte) {
	listed := map[string]bool{FileManifest: true, FileSignature: true}
	for _, f := range res.Manifest.Files {
		listed[f.Name] = true
		b, ok := files[f.Name]
		switch {
		case !ok:
			res.problem("%s: listed in the manifest, missing from the bundle", f.Name)
		case sha(b) != f.SHA256 || len(b) != f.Bytes:
			res.problem("%s: its SHA-256 is not the manifest's: the file was changed", f.Name)
		}
	}
	for name := range files {
		if !listed[name] {
			res.problem("%s: in the bundle, not in the manifest", name)
		}
	}
}

// chainHeads are a chain's heads in a bundle: the closing one (the highest
// seq, which must be signed at or after the range's end) and every one.
type chainHeads struct {
	closing auditstore.HeadStatement
	all     []auditstore.HeadStatement
}

// openHeads checks each head's signature under the trusted key it names
// and its chain, and
// that each chain's closing head was signed at or after the range's end.
func openHeads(res *Result, raw []byte, keys auditstore.Keyring, to time.Time) map[string]*chainHeads {
	var heads []ChainHead
	out := map[string]*chainHeads{}
	if err := json.Unmarshal(raw, &heads); err != nil {
		res.problem("%s: %v", FileHeads, err)
		return out
	}
	for _, h := range heads {
		st, err := keys.Open(h.SignedHead)
		if err != nil {
			res.problem("%s: a head of chain %q: %v", FileHeads, h.Chain, err)
			continue
		}
		if st.Chain != h.Chain {
			res.problem("%s: a head of chain %q is listed for chain %q", FileHeads, st.Chain, h.Chain)
			continue
		}
		ch := out[h.Chain]
		if ch == nil {
			ch = &chainHeads{}
			out[h.Chain] = ch
		}
		ch.all = append(ch.all, st)
		if st.Seq >= ch.closing.Seq {
			ch.closing = st
		}
	}
	for chain, ch := range out {
		at, err := time.Parse(time.RFC3339Nano, ch.closing.SignedAt)
		if err != nil || at.Before(to) {
			res.problem("%s: the head of chain %q was signed at %s, before the range's end: records stored after it and before the end could be missing", FileHeads, chain, ch.closing.SignedAt)
		}
	}
	return out
}

// checkVouched names the links of a run that no signature vouches for:
// each head vouches for the links from its vouched_from to its seq, which
// its process appended itself, and must name the run's hash at its seq.
// A link no head vouches for was found unsigned by a process that signed
// over it after a restart: a crash, or a rewrite by someone with the disk.
func checkVouched(res *Result, name string, rows []auditstore.Row, heads *chainHeads, from time.Time) {
	if heads == nil || len(rows) == 0 {
		return
	}
	hashAt := make(map[int64]string, len(rows))
	for _, r := range rows {
		hashAt[r.Seq] = r.Hash
	}
	first, last := rows[0].Seq, rows[len(rows)-1].Seq
	// The link before the range only shows where the range starts: it
	// needs no voucher; a run that starts at the chain's first record
	// starts with a record of the range, which does.
	start := first + 1
	if rows[0].StoredMS >= from.UnixMilli() {
		start = first
	}
	var vouched []auditstore.SeqRange
	for _, st := range heads.all {
		if h, ok := hashAt[st.Seq]; !ok || h != st.Hash {
			res.problem("%s: the signed head at seq %d names another hash than the run's: the chain was rewritten", name, st.Seq)
			continue
		}
		vf := st.VouchedFrom
		if vf == 0 {
			vf = 1 // signed before heads named what they vouch for
		}
		if vf <= st.Seq {
			vouched = append(vouched, auditstore.SeqRange{From: max(vf, start), To: st.Seq})
		}
	}
	for _, r := range auditstore.Unvouched(start, last, vouched) {
		res.problem("%s: seq %d to %d are vouched for by no signature: appended by a process that stopped before signing them and signed over after a restart (a crash, or a rewrite by someone with the disk)", name, r.From, r.To)
	}
}

func readRows(b []byte) ([]auditstore.Row, error) {
	var rows []auditstore.Row
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	for line := 1; sc.Scan(); line++ {
		var r auditstore.Row
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		rows = append(rows, r)
	}
	return rows, sc.Err()
}

// checkRun walks one chain's run and returns its records, decoded.
func checkRun(res *Result, run ChainRun, rows []auditstore.Row, head auditstore.HeadStatement, from time.Time) []map[string]any {
	name := fmt.Sprintf("chain %q", run.Chain)
	if len(rows) == 0 {
		res.problem("%s: %s carries none of its links", name, FileRecords)
		return nil
	}
	if head.Seq == 0 {
		res.problem("%s: no signed head in %s", name, FileHeads)
	} else if head.Seq != run.HeadSeq {
		res.problem("%s: the manifest ends the run at seq %d, the signed head is at seq %d", name, run.HeadSeq, head.Seq)
	} else if run.KeyID != head.KeyID {
		res.problem("%s: the manifest says key %s signed its head, the head is signed by key %s", name, run.KeyID, head.KeyID)
	}
	first := rows[0]
	switch {
	case first.Seq != run.FirstSeq:
		res.problem("%s: the run starts at seq %d, the manifest says %d", name, first.Seq, run.FirstSeq)
	case first.Seq == 1 && first.PrevHash == auditstore.GenesisOf(run.Chain):
	case first.StoredMS < from.UnixMilli():
	default:
		res.problem("%s: the run starts at seq %d, stored at %s, not before the range: records stored earlier in the range could be missing", name, first.Seq, time.UnixMilli(first.StoredMS).UTC().Format(time.RFC3339Nano))
	}
	var out []map[string]any
	prev := first.PrevHash
	nextSeq, lastStored := first.Seq, first.StoredMS
	for i, r := range rows {
		where := fmt.Sprintf("%s seq %d", name, r.Seq)
		switch {
		case r.Seq > run.HeadSeq && run.HeadSeq > 0:
			res.problem("%s: beyond the signed head at seq %d the run ends at: not covered by any signature", where, run.HeadSeq)
			return out
		case r.Seq != nextSeq && r.Seq > nextSeq:
			res.problem("%s: seq %d is missing (the next link is seq %d): a record was dropped", name, nextSeq, r.Seq)
			return out
		case r.Seq != nextSeq:
			res.problem("%s: seq %d follows seq %d: records were added or reordered", name, r.Seq, nextSeq-1)
			return out
		case i > 0 && r.PrevHash != prev:
			res.problem("%s: prev_hash is not the hash of seq %d: the chain is broken there", where, r.Seq-1)
			return out
		case auditstore.LinkHash(r.Seq, r.StoredMS, r.PrevHash, r.Record) != r.Hash:
			res.problem("%s: its hash does not match the record: the record, its stored time or its hash was changed", where)
			return out
		case r.StoredMS < lastStored:
			res.problem("%s: stored_ms goes back in time", where)
			return out
		}
		var rec map[string]any
		if err := json.Unmarshal(r.Record, &rec); err != nil {
			res.problem("%s: the record is not a JSON object", where)
			return out
		}
		out = append(out, rec)
		prev, nextSeq, lastStored = r.Hash, r.Seq+1, r.StoredMS
	}
	last := rows[len(rows)-1]
	if head.Seq != 0 && (last.Seq != head.Seq || last.Hash != head.Hash) {
		res.problem("%s: the run ends at seq %d, not at the signed head (seq %d): records were cut from its end or the chain was rewritten", name, last.Seq, head.Seq)
	}
	return out
}

// checkSummary requires the summary and what is rendered from it to be
// what the records say.
func checkSummary(res *Result, files map[string][]byte, want Summary, m Manifest) {
	for _, f := range []struct {
		name string
		want []byte
	}{
		{FileSummary, summaryJSON(want)},
		{FileCSV, summaryCSV(want)},
		{FileReport, report(want, m)},
	} {
		if got := files[f.name]; !bytes.Equal(got, f.want) {
			res.problem("%s: not what the records say (first difference at line %d)", f.name, firstDifferentLine(got, f.want))
		}
	}
}

func firstDifferentLine(a, b []byte) int {
	la, lb := bytes.Split(a, []byte("\n")), bytes.Split(b, []byte("\n"))
	for i := 0; i < len(la) && i < len(lb); i++ {
		if !bytes.Equal(la[i], lb[i]) {
			return i + 1
		}
	}
	return min(len(la), len(lb)) + 1
}
