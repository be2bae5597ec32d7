// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"sort"
	"strings"

	"github.com/policyaudit/policyaudit/internal/auditstore"
	"github.com/policyaudit/policyaudit/internal/s3client"
	"github.com/policyaudit/policyaudit/internal/signing"
)

// s3Head is where verify --from-s3 finds the store's signed heads: the
// digest trail of the collector's s3audit exporter, which carries a copy of
// the newest one in every digest, out of the host's reach.
type s3Head struct {
	uri, endpoint, region string
}

// s3HeadFound is a head found and the digest that carried it.
type s3HeadFound struct {
	statement auditstore.HeadStatement
	digest    string
}

// heads reads every digest under the prefix, checked under pub, and returns
// the audit store heads they carry, checked under pub too, once per seq and
// by seq. Every one counts, not only the newest digest's: a store rolled back
// and restarted would give the digests after it an older head. What does not
// hold (a digest forged or copied from elsewhere, a head not signed by the
// key, two heads at one seq) is evidence, returned as problems.
func (h s3Head) heads(ctx context.Context, pub ed25519.PublicKey) ([]s3HeadFound, []string, error) {
	bucket, prefix, ok := strings.Cut(strings.TrimPrefix(h.uri, "s3://"), "/")
	if !strings.HasPrefix(h.uri, "s3://") || !ok || bucket == "" || prefix == "" {
		return nil, nil, fmt.Errorf("--from-s3: %q is not s3://BUCKET/DIGEST-PREFIX", h.uri)
	}
	client, err := s3client.New(ctx, h.region, h.endpoint, h.endpoint != "")
	if err != nil {
		return nil, nil, fmt.Errorf("--from-s3: %w", err)
	}
	trail := &s3Trail{client: client, bucket: bucket, digestPrefix: strings.TrimSuffix(prefix, "/"),
		keys: map[string]ed25519.PublicKey{signing.KeyID(pub): pub}}
	all, _, err := trail.readDigests(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("--from-s3: %w", err)
	}
	bySeq := map[int64]s3HeadFound{}
	for _, d := range all {
		sh := d.Digest.AuditStoreHead
		if sh == nil {
			continue
		}
		st, err := sh.Open(pub)
		if err != nil {
			trail.problem("the audit store head in digest %s: %v", d.Key, err)
			continue
		}
		if seen, ok := bySeq[st.Seq]; ok && seen.statement.Hash != st.Hash {
			trail.problem("digests %s and %s carry two heads at seq %d with different hashes: the store was rolled back or replaced between them", seen.digest, d.Key, st.Seq)
			continue
		}
		bySeq[st.Seq] = s3HeadFound{statement: st, digest: d.Key}
	}
	if len(bySeq) == 0 && len(trail.problems) == 0 {
		return nil, nil, fmt.Errorf("--from-s3: no digest under %s signed by key %s carries an audit store head (is digest.audit_store set?)", h.uri, signing.KeyID(pub))
	}
	out := make([]s3HeadFound, 0, len(bySeq))
	for _, f := range bySeq {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].statement.Seq < out[j].statement.Seq })
	return out, trail.problems, nil
}
