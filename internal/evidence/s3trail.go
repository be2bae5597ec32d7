// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package evidence

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/policyaudit/policyaudit/internal/auditstore"
	"github.com/policyaudit/policyaudit/internal/s3digest"
)

// S3Trail is one chain of signed S3 digests (the s3audit exporter's, under
// its digest prefix) over a bundle's range: the digests that list the
// objects holding the range's records, oldest first. They are a second
// trail of the same records, in a bucket the store's host may not
// control; each may carry a head of the store, an independent copy.
type S3Trail struct {
	Bucket, DigestPrefix string
	Digests              []s3digest.Signed
}

// S3Entry is an S3 trail in the manifest.
type S3Entry struct {
	Bucket       string `json:"bucket"`
	DigestPrefix string `json:"digest_prefix"`
	Digests      int    `json:"digests"`
	Start        string `json:"start"` // the first digest's start
	End          string `json:"end"`   // the last digest's end
}

// digestLine is one digest in s3-digests.jsonl: its object key, its
// signature and its bytes exactly as written to S3.
type digestLine struct {
	Bucket       string          `json:"bucket"`
	DigestPrefix string          `json:"digest_prefix"`
	Key          string          `json:"key"`
	Signature    string          `json:"signature"`
	Digest       json.RawMessage `json:"digest"`
}

// encodeDigests writes the trails' digests as JSON lines and describes
// each trail for the manifest.
func encodeDigests(trails []S3Trail) ([]byte, []S3Entry) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	entries := []S3Entry{}
	for _, tr := range trails {
		if len(tr.Digests) == 0 {
			continue
		}
		entries = append(entries, S3Entry{Bucket: tr.Bucket, DigestPrefix: tr.DigestPrefix, Digests: len(tr.Digests),
			Start: tr.Digests[0].Digest.Start, End: tr.Digests[len(tr.Digests)-1].Digest.End})
		for _, d := range tr.Digests {
			_ = enc.Encode(digestLine{Bucket: tr.Bucket, DigestPrefix: tr.DigestPrefix, Key: d.Key, Signature: d.Signature, Digest: d.Bytes})
		}
	}
	return b.Bytes(), entries
}

// checkDigests checks the bundle's S3 trails offline: each digest's
// signature under a trusted key and the place it names, each trail's
// links (previous digest by key, hash and signature) and times, unbroken
// from before the range's start to after its end, the manifest's account
// of them, and each store head a digest carries against the bundle's
// links: a head whose seq the bundle holds must name the same hash, or the
// store was rewritten after the digest copied its head out.
func checkDigests(res *Result, raw []byte, keys auditstore.Keyring, from, to time.Time, hashAt map[string]map[int64]string) {
	m := res.Manifest
	type trail struct {
		entry   S3Entry
		digests []s3digest.Signed
	}
	var trails []*trail
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	for line := 1; sc.Scan(); line++ {
		var l digestLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			res.problem("%s line %d: %v", FileDigests, line, err)
			return
		}
		if n := len(trails); n == 0 || trails[n-1].entry.Bucket != l.Bucket || trails[n-1].entry.DigestPrefix != l.DigestPrefix {
			trails = append(trails, &trail{entry: S3Entry{Bucket: l.Bucket, DigestPrefix: l.DigestPrefix}})
		}
		tr := trails[len(trails)-1]
		d, err := s3digest.Open(l.Key, l.Digest, l.Signature, keys)
		if err != nil {
			res.problem("%s: digest %s is forged: %v", FileDigests, l.Key, err)
			continue
		}
		if d.Digest.Bucket != l.Bucket || d.Digest.DigestPrefix != l.DigestPrefix {
			res.problem("%s: digest %s was written for s3://%s/%s, not for s3://%s/%s", FileDigests, l.Key, d.Digest.Bucket, d.Digest.DigestPrefix, l.Bucket, l.DigestPrefix)
		}
		tr.digests = append(tr.digests, d)
	}
	if len(trails) != len(m.S3) {
		res.problem("%s: %d S3 trails, the manifest lists %d", FileDigests, len(trails), len(m.S3))
	}
	for i, tr := range trails {
		where := fmt.Sprintf("%s: s3://%s/%s", FileDigests, tr.entry.Bucket, tr.entry.DigestPrefix)
		ds := tr.digests
		if len(ds) == 0 {
			res.problem("%s: no digest opens", where)
			continue
		}
		tr.entry.Digests, tr.entry.Start, tr.entry.End = len(ds), ds[0].Digest.Start, ds[len(ds)-1].Digest.End
		if i < len(m.S3) && m.S3[i] != tr.entry {
			res.problem("%s: the manifest says %+v, the digests are %+v", where, m.S3[i], tr.entry)
		}
		for j := 1; j < len(ds); j++ {
			prev, d := ds[j-1], ds[j]
			if p := d.Digest.Previous; p == nil || p.Key != prev.Key || p.SHA256 != prev.SHA256() || p.Signature != prev.Signature {
				res.problem("%s: digest %s does not name %s as its previous digest: a digest was dropped, added or replaced", where, d.Key, prev.Key)
			}
			if d.Digest.Start != prev.Digest.End {
				res.problem("%s: no digest covers %s to %s", where, prev.Digest.End, d.Digest.Start)
			}
		}
		if start, err := time.Parse(s3digest.TimeLayout, ds[0].Digest.Start); err != nil || start.After(from) {
			res.problem("%s: the first digest starts at %s, after the range's start", where, ds[0].Digest.Start)
		}
		if end, err := time.Parse(s3digest.TimeLayout, ds[len(ds)-1].Digest.End); err != nil || end.Before(to) {
			res.problem("%s: the last digest ends at %s, before the range's end", where, ds[len(ds)-1].Digest.End)
		}
		for _, d := range ds {
			checkCarriedHead(res, where, d, keys, hashAt)
		}
	}
}

// checkCarriedHead compares the store head a digest carries with the
// bundle's link at its seq.
func checkCarriedHead(res *Result, where string, d s3digest.Signed, keys auditstore.Keyring, hashAt map[string]map[int64]string) {
	h := d.Digest.AuditStoreHead
	if h == nil {
		return
	}
	st, err := keys.Open(*h)
	if err != nil {
		res.problem("%s: digest %s carries a store head that does not verify: %v", where, d.Key, err)
		return
	}
	if hash, ok := hashAt[st.Chain][st.Seq]; ok && hash != st.Hash {
		res.problem("%s: digest %s carries the store's head at seq %d, whose hash is not the bundle's link at that seq: the store was rewritten after the digest copied its head", where, d.Key, st.Seq)
	}
}
