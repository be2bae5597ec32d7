// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package evidence

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/policyaudit/policyaudit/internal/auditstore"
	"github.com/policyaudit/policyaudit/internal/pdatajson"
	"github.com/policyaudit/policyaudit/internal/s3digest"
	"github.com/policyaudit/policyaudit/internal/signing"
)

// digestTrail is a chain of hourly digests from start to end under
// policy-audit/_digest, signed by signer, the one ending at carryAt
// carrying head.
func digestTrail(t *testing.T, signer *signing.Signer, start, end time.Time, carryAt time.Time, head *auditstore.SignedHead) S3Trail {
	tr := S3Trail{Bucket: "audit", DigestPrefix: "policy-audit/_digest"}
	var prev *s3digest.Previous
	for at := start; at.Before(end); at = at.Add(time.Hour) {
		d := s3digest.Digest{Bucket: tr.Bucket, DigestPrefix: tr.DigestPrefix, Start: at.Format(s3digest.TimeLayout), End: at.Add(time.Hour).Format(s3digest.TimeLayout),
			Previous: prev, Objects: []s3digest.Object{{Key: "policy-audit/date=" + at.Format(time.DateOnly) + "/part-" + at.Format("150405") + ".jsonl.gz", SHA256: strings.Repeat("a", 64), Records: 1}}}
		if at.Add(time.Hour).Equal(carryAt) {
			d.AuditStoreHead = head
		}
		signed, err := s3digest.Sign(signer, s3digest.Key(tr.DigestPrefix, at.Add(time.Hour)), d)
		require.NoError(t, err)
		tr.Digests = append(tr.Digests, signed)
		prev = signed.AsPrevious()
	}
	return tr
}

// headAt is a head of the store's chain at seq naming hash, signed by signer.
func headAt(t *testing.T, signer *signing.Signer, seq int64, hash string) *auditstore.SignedHead {
	statement, err := pdatajson.CanonicalJSON(auditstore.HeadStatement{Type: auditstore.HeadStatementType, KeyID: signer.KeyID(),
		Seq: seq, Hash: hash, SignedAt: day.Add(20 * time.Hour).Format(time.RFC3339), Reason: "interval", VouchedFrom: 1})
	require.NoError(t, err)
	return &auditstore.SignedHead{Statement: statement, Signature: signer.SignBase64(statement)}
}

// A bundle carries the S3 digests over its range; verify checks their
// signatures, their chain, their coverage of the range and the store heads
// they carry against the bundle's links, and names each tampering.
func TestABundleCarriesTheS3DigestsOverItsRange(t *testing.T) {
	st, signer, _ := trail(t)
	plain := export(t, st, signer, theDay)
	files, err := readTar(bytes.NewReader(plain))
	require.NoError(t, err)
	rows, err := readRows(files[FileRecords])
	require.NoError(t, err)
	seq5 := rows[len(rows)-4] // a link inside the run
	withDigests := func(head *auditstore.SignedHead) []byte {
		opts := theDay
		opts.S3 = []S3Trail{digestTrail(t, signer, day.Add(-2*time.Hour), day.Add(26*time.Hour), day.Add(22*time.Hour), head)}
		var b bytes.Buffer
		_, err := Export(t.Context(), st, signer, opts, &b)
		require.NoError(t, err)
		return b.Bytes()
	}
	bundle := withDigests(headAt(t, signer, seq5.Seq, seq5.Hash))
	res := verify(t, bundle, signer.PublicKey())
	require.True(t, res.OK, res.Problems)
	files, err = readTar(bytes.NewReader(bundle))
	require.NoError(t, err)
	assert.Len(t, lines(files[FileDigests]), 28)
	assert.Contains(t, string(files[FileReport]), "| audit | policy-audit/_digest | 28 | 2026-03-01T22:00:00.000Z | 2026-03-03T02:00:00.000Z |")

	var forged Options = theDay
	forged.S3 = []S3Trail{digestTrail(t, newSigner(t), day.Add(-time.Hour), day.Add(25*time.Hour), time.Time{}, nil)}
	_, err = Export(t.Context(), st, signer, forged, new(bytes.Buffer))
	assert.ErrorContains(t, err, "is forged: signed by key", "the exporter checks the digests before its key signs them")

	_, err = Export(t.Context(), st, signer, Options{From: day, To: theDay.To, Now: theDay.Now,
		S3: []S3Trail{digestTrail(t, signer, day.Add(-2*time.Hour), day.Add(26*time.Hour), day.Add(22*time.Hour), headAt(t, signer, seq5.Seq, strings.Repeat("0", 64)))}}, new(bytes.Buffer))
	assert.ErrorContains(t, err, "whose hash is not the bundle's link at that seq: the store was rewritten after the digest copied its head")

	for name, c := range map[string]struct {
		edit func([]byte) []byte
		want string
	}{
		"a digest dropped": {func(b []byte) []byte { ls := lines(b); return withLines(append(ls[:10:10], ls[11:]...)) },
			"does not name policy-audit/_digest/date=2026-03-02/20260302T080000.000Z_digest.json as its previous digest: a digest was dropped, added or replaced"},
		"the first digests dropped": {func(b []byte) []byte { return withLines(lines(b)[3:]) },
			"the first digest starts at 2026-03-02T01:00:00.000Z, after the range's start"},
		"the last digests dropped": {func(b []byte) []byte { ls := lines(b); return withLines(ls[:24]) },
			"the last digest ends at 2026-03-02T22:00:00.000Z, before the range's end"},
		"a digest's object changed": {func(b []byte) []byte {
			return bytes.Replace(b, []byte(strings.Repeat("a", 64)), []byte(strings.Repeat("b", 64)), 1)
		},
			"is forged: the signature does not verify under key"},
	} {
		t.Run(name, func(t *testing.T) {
			res := verify(t, tamper(t, bundle, FileDigests, c.edit, signer), signer.PublicKey())
			require.False(t, res.OK)
			assert.Contains(t, strings.Join(res.Problems, "\n"), c.want)
		})
	}
}
