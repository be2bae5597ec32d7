// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/policyaudit/policyaudit/internal/s3client"
	"github.com/policyaudit/policyaudit/internal/s3digest"
	"github.com/policyaudit/policyaudit/internal/signing"
)

// s3Trail is what verify s3 reads from the bucket.
type s3Trail struct {
	client *s3.Client
	bucket string
	prefix string
	// digestPrefixes are the digest chains over the data objects: one for a
	// collector, one per collector of a tier (tier.yaml writes each under
	// _digest/<chain>); digestPrefix is the one being read.
	digestPrefixes []string
	digestPrefix   string
	keys           map[string]ed25519.PublicKey
	from, to       time.Time
	skew           time.Duration

	problems []string
}

func (v *s3Trail) problem(format string, args ...any) {
	v.problems = append(v.problems, fmt.Sprintf(format, args...))
}

// verifyS3 walks the digest chain under the digest prefix, checks every
// signature and every listed object's hash, and names each missing,
// modified or extra object, each missing or forged digest and each gap.
func verifyS3(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("verify s3", flag.ContinueOnError)
	fs.SetOutput(stderr)
	v := &s3Trail{keys: map[string]ed25519.PublicKey{}}
	fs.StringVar(&v.bucket, "bucket", "", "the bucket")
	fs.StringVar(&v.prefix, "prefix", "policy-audit", "the prefix the data objects are under")
	fs.Func("digest-prefix", "the prefix the digests are under (default PREFIX/_digest); repeat it for a tier, whose collectors each sign a chain of their own, and every data object must be in one of them", func(p string) error {
		v.digestPrefixes = append(v.digestPrefixes, p)
		return nil
	})
	fs.Func("public-key", "PEM file of a public key the digests may be signed with (repeat across a key rotation)", func(path string) error {
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		pub, err := signing.ParsePublicKey(b)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		v.keys[signing.KeyID(pub)] = pub
		return nil
	})
	from := fs.String("from", "", "RFC 3339: the trail must cover from this time (default: its first digest)")
	to := fs.String("to", "", "RFC 3339: the trail must cover up to this time (default: its last digest)")
	endpoint := fs.String("endpoint", "", "an S3-compatible endpoint (path-style addressing)")
	region := fs.String("region", "us-east-1", "the bucket's region")
	fs.DurationVar(&v.skew, "clock-skew", time.Minute, "objects stored this close before the newest digest's end, and in no digest, count as not covered yet rather than added (S3's clock and the collector's differ)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var err error
	for name, dst := range map[string]*time.Time{*from: &v.from, *to: &v.to} {
		if name != "" {
			if *dst, err = time.Parse(time.RFC3339Nano, name); err != nil {
				fmt.Fprintf(stderr, "verify s3: %q is not an RFC 3339 time\n", name)
				return 2
			}
		}
	}
	if v.bucket == "" || len(v.keys) == 0 || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "verify s3: --bucket and at least one --public-key are required")
		return 2
	}
	if len(v.digestPrefixes) == 0 {
		v.digestPrefixes = []string{strings.TrimSuffix(v.prefix, "/") + "/_digest"}
	}
	if v.client, err = s3client.New(ctx, *region, *endpoint, *endpoint != ""); err != nil {
		fmt.Fprintln(stderr, "verify s3:", err)
		return 2
	}
	summary, err := v.run(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "verify s3:", err)
		return 2
	}
	if len(v.problems) > 0 {
		for _, p := range v.problems {
			fmt.Fprintln(stdout, "PROBLEM:", p)
		}
		fmt.Fprintf(stdout, "BROKEN: %d problems\n", len(v.problems))
		return 1
	}
	fmt.Fprintln(stdout, summary)
	return 0
}

// object is a listed S3 object.
type listedObject struct {
	key      string
	modified time.Time
}

func (v *s3Trail) list(ctx context.Context, prefix string) ([]listedObject, error) {
	var out []listedObject
	pages := s3.NewListObjectsV2Paginator(v.client, &s3.ListObjectsV2Input{Bucket: aws.String(v.bucket), Prefix: aws.String(strings.TrimSuffix(prefix, "/") + "/")})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing s3://%s/%s: %w", v.bucket, prefix, err)
		}
		for _, o := range page.Contents {
			out = append(out, listedObject{key: aws.ToString(o.Key), modified: aws.ToTime(o.LastModified)})
		}
	}
	return out, nil
}

// get reads an object; found is false when it does not exist.
func (v *s3Trail) get(ctx context.Context, key string) (body []byte, meta map[string]string, found bool, err error) {
	out, err := v.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(v.bucket), Key: aws.String(key)})
	if err != nil {
		var missing interface{ ErrorCode() string }
		if errors.As(err, &missing) && (missing.ErrorCode() == "NoSuchKey" || missing.ErrorCode() == "NotFound") {
			return nil, nil, false, nil
		}
		return nil, nil, false, fmt.Errorf("reading s3://%s/%s: %w", v.bucket, key, err)
	}
	defer out.Body.Close()
	body, err = io.ReadAll(out.Body)
	return body, out.Metadata, true, err
}

// protectionOf is the encryption and retention S3 reports for an object
// (HEAD: what S3 answers there includes the Object Lock headers for a
// caller allowed to read them).
func (v *s3Trail) protectionOf(ctx context.Context, key string) (s3digest.Protection, error) {
	out, err := v.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(v.bucket), Key: aws.String(key)})
	if err != nil {
		return s3digest.Protection{}, fmt.Errorf("reading s3://%s/%s: %w", v.bucket, key, err)
	}
	p := s3digest.Protection{Encryption: string(out.ServerSideEncryption), KMSKeyID: aws.ToString(out.SSEKMSKeyId),
		LockMode: string(out.ObjectLockMode), LegalHold: out.ObjectLockLegalHoldStatus == types.ObjectLockLegalHoldStatusOn}
	if out.ObjectLockRetainUntilDate != nil {
		p.RetainUntil = out.ObjectLockRetainUntilDate.UTC().Truncate(time.Second).Format(time.RFC3339)
	}
	return p, nil
}

// checkProtection names an object whose encryption or retention is not
// what its digest recorded: unencrypted, a retention removed, shortened or
// weakened to another mode, a legal hold lifted.
func (v *s3Trail) checkProtection(key, digest string, want, got s3digest.Protection) {
	where := fmt.Sprintf("object %s, listed in digest %s", key, digest)
	if want.Encryption != "" && got.Encryption != want.Encryption {
		v.problem("%s, is stored %s, the digest says encrypted with %s", where, orDefault(got.Encryption, "unencrypted"), want.Encryption)
	}
	// S3 answers the key's ARN; the digest holds what was configured (an
	// ID, or the ARN): an ARN ending in the ID is the same key.
	if want.KMSKeyID != "" && got.KMSKeyID != "" && got.KMSKeyID != want.KMSKeyID && !strings.HasSuffix(got.KMSKeyID, "/"+want.KMSKeyID) {
		v.problem("%s, is encrypted with KMS key %s, the digest says %s", where, got.KMSKeyID, want.KMSKeyID)
	}
	switch {
	case want.LockMode == "":
	case got.LockMode == "" || got.RetainUntil == "":
		v.problem("%s: its Object Lock retention was removed (the digest says %s until %s)", where, want.LockMode, want.RetainUntil)
	case got.RetainUntil < want.RetainUntil:
		v.problem("%s: its retention was shortened from %s to %s", where, want.RetainUntil, got.RetainUntil)
	case want.LockMode == "COMPLIANCE" && got.LockMode != "COMPLIANCE":
		// GOVERNANCE can be shortened by some; COMPLIANCE by none: a
		// move the other way only strengthens it.
		v.problem("%s: its retention mode is %s, the digest says %s", where, got.LockMode, want.LockMode)
	}
	if want.LegalHold && !got.LegalHold {
		v.problem("%s: its legal hold was lifted", where)
	}
}

func (v *s3Trail) run(ctx context.Context) (string, error) {
	listed := map[string]bool{}
	var records int
	var summaries []string
	var pendingAfter, oldest time.Time
	for _, prefix := range v.digestPrefixes {
		v.digestPrefix = prefix
		all, digests, err := v.readDigests(ctx)
		if err != nil {
			return "", err
		}
		if len(digests) == 0 {
			v.problem("no digest under s3://%s/%s in the window", v.bucket, v.digestPrefix)
			continue
		}
		v.checkChain(all, digests)
		objects, n, err := v.checkObjects(ctx, digests)
		if err != nil {
			return "", err
		}
		for k := range objects {
			listed[k] = true
		}
		records += n
		first, last := digests[0].Digest, digests[len(digests)-1].Digest
		summaries = append(summaries, fmt.Sprintf("%d digests from %s to %s", len(digests), first.Start, last.End))
		// With several chains an object after any chain's newest digest may
		// be that chain's next: only older ones can be called added.
		end, _ := time.Parse(s3digest.TimeLayout, last.End)
		start, _ := time.Parse(s3digest.TimeLayout, first.Start)
		if pendingAfter.IsZero() || end.Before(pendingAfter) {
			pendingAfter = end
		}
		if oldest.IsZero() || start.Before(oldest) {
			oldest = start
		}
	}
	if len(summaries) == 0 {
		return "", nil
	}
	pending, err := v.checkExtras(ctx, pendingAfter, oldest, listed)
	if err != nil {
		return "", err
	}
	summary := fmt.Sprintf("ok: %s, %d objects, %d records, every signature and hash verified", strings.Join(summaries, "; "), len(listed), records)
	if pending > 0 {
		summary += fmt.Sprintf("; %d objects written after the newest digest are not covered yet", pending)
	}
	return summary, nil
}

// readDigests reads and opens every digest, oldest first: all of them, and
// those in the window.
func (v *s3Trail) readDigests(ctx context.Context) (all, inWindow []s3digest.Signed, err error) {
	objs, err := v.list(ctx, v.digestPrefix)
	if err != nil {
		return nil, nil, err
	}
	for _, o := range objs {
		if !s3digest.IsDigestKey(o.key) {
			continue
		}
		body, meta, _, err := v.get(ctx, o.key)
		if err != nil {
			return nil, nil, err
		}
		sig := meta[s3digest.MetaSignature]
		detached, _, found, err := v.get(ctx, o.key+s3digest.SignatureSuffix)
		if err != nil {
			return nil, nil, err
		}
		switch {
		case found && sig != "" && strings.TrimSpace(string(detached)) != sig:
			v.problem("digest %s: its metadata signature and %s%s differ", o.key, o.key, s3digest.SignatureSuffix)
			continue
		case sig == "" && found:
			sig = strings.TrimSpace(string(detached))
		case sig == "":
			v.problem("digest %s has no signature", o.key)
			continue
		}
		signed, err := s3digest.Open(o.key, body, sig, v.keys)
		if err != nil {
			v.problem("digest %s is forged: %v", o.key, err)
			continue
		}
		if where := v.where(signed.Digest); where != "" {
			v.problem("digest %s was written for %s, not for s3://%s/%s: the trail was copied from elsewhere", o.key, where, v.bucket, v.digestPrefix)
			continue
		}
		all = append(all, signed)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Digest.End < all[j].Digest.End })
	for _, d := range all {
		end, _ := time.Parse(s3digest.TimeLayout, d.Digest.End)
		start, _ := time.Parse(s3digest.TimeLayout, d.Digest.Start)
		if (!v.from.IsZero() && !end.After(v.from)) || (!v.to.IsZero() && !start.Before(v.to)) {
			continue
		}
		inWindow = append(inWindow, d)
	}
	return all, inWindow, nil
}

// where names the bucket and digest prefix a digest was written for, when
// they are not the ones verified ("" when they are).
func (v *s3Trail) where(d s3digest.Digest) string {
	if d.Bucket == v.bucket && strings.TrimSuffix(d.DigestPrefix, "/") == strings.TrimSuffix(v.digestPrefix, "/") {
		return ""
	}
	return fmt.Sprintf("s3://%s/%s", d.Bucket, d.DigestPrefix)
}

// checkChain follows each digest's previous link and its times, in the
// window (a link to a digest before the window is followed too).
func (v *s3Trail) checkChain(all, digests []s3digest.Signed) {
	byKey := map[string]s3digest.Signed{}
	for _, d := range all {
		byKey[d.Key] = d
	}
	for i, d := range digests {
		prev := d.Digest.Previous
		switch {
		case prev == nil && i > 0:
			v.problem("digest %s names no previous digest: the chain restarts after %s", d.Key, digests[i-1].Key)
		case prev != nil:
			p, ok := byKey[prev.Key]
			switch {
			case !ok:
				v.problem("digest %s, named by %s, is missing", prev.Key, d.Key)
			case ok && (p.SHA256() != prev.SHA256 || p.Signature != prev.Signature):
				v.problem("digest %s is not the one %s names (its hash or signature differs): it was replaced", prev.Key, d.Key)
			case ok && i > 0 && digests[i-1].Key != prev.Key:
				v.problem("digest %s is not in the chain: %s follows %s", digests[i-1].Key, d.Key, prev.Key)
			}
		}
		if i > 0 && d.Digest.Start != digests[i-1].Digest.End {
			v.problem("no digest covers %s to %s", digests[i-1].Digest.End, d.Digest.Start)
		}
	}
	first, last := digests[0].Digest, digests[len(digests)-1].Digest
	if start, _ := time.Parse(s3digest.TimeLayout, first.Start); !v.from.IsZero() && start.After(v.from) {
		v.problem("no digest covers %s to %s", v.from.UTC().Format(s3digest.TimeLayout), first.Start)
	}
	if end, _ := time.Parse(s3digest.TimeLayout, last.End); !v.to.IsZero() && end.Before(v.to) {
		v.problem("no digest covers %s to %s: the newest digests may have been deleted", last.End, v.to.UTC().Format(s3digest.TimeLayout))
	}
}

// checkObjects reads every listed object and compares its hash.
func (v *s3Trail) checkObjects(ctx context.Context, digests []s3digest.Signed) (map[string]bool, int, error) {
	listed := map[string]bool{}
	records := 0
	for _, d := range digests {
		for _, o := range d.Digest.Objects {
			if listed[o.Key] {
				continue // written again with the same content, listed again
			}
			listed[o.Key] = true
			records += o.Records
			body, _, found, err := v.get(ctx, o.Key)
			if err != nil {
				return nil, 0, err
			}
			if !found {
				v.problem("object %s, listed in digest %s, is missing", o.Key, d.Key)
				continue
			}
			if o.Protection != (s3digest.Protection{}) {
				got, err := v.protectionOf(ctx, o.Key)
				if err != nil {
					return nil, 0, err
				}
				v.checkProtection(o.Key, d.Key, o.Protection, got)
			}
			if strings.HasSuffix(o.Key, ".gz") {
				zr, err := gzip.NewReader(bytes.NewReader(body))
				if err == nil {
					body, err = io.ReadAll(zr)
				}
				if err != nil {
					v.problem("object %s, listed in digest %s, was modified: not gzip any more (%v)", o.Key, d.Key, err)
					continue
				}
			}
			if sum := sha256.Sum256(body); hex.EncodeToString(sum[:]) != o.SHA256 {
				v.problem("object %s, listed in digest %s, was modified: its SHA-256 is %s, the digest says %s", o.Key, d.Key, hex.EncodeToString(sum[:]), o.SHA256)
			}
		}
	}
	return listed, records, nil
}

// isDigest: the key is under one of the digest prefixes.
func (v *s3Trail) isDigest(key string) bool {
	for _, p := range v.digestPrefixes {
		if strings.HasPrefix(key, strings.TrimSuffix(p, "/")+"/") {
			return true
		}
	}
	return false
}

// checkExtras names data objects no digest lists; those written after the
// newest digest are counted as not covered yet.
func (v *s3Trail) checkExtras(ctx context.Context, newest, oldest time.Time, listed map[string]bool) (int, error) {
	objs, err := v.list(ctx, v.prefix)
	if err != nil {
		return 0, err
	}
	pending := 0
	for _, o := range objs {
		if v.isDigest(o.key) || listed[o.key] {
			continue
		}
		switch {
		case o.modified.After(newest.Add(-v.skew)):
			pending++
		case o.modified.Before(oldest):
			// before the verified window
		default:
			v.problem("object %s is in no digest: it was added to the bucket", o.key)
		}
	}
	return pending, nil
}
