// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package s3auditexporter

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/policyaudit/policyaudit/internal/auditstore"
	"github.com/policyaudit/policyaudit/internal/s3digest"
	"github.com/policyaudit/policyaudit/internal/signing"
)

// digester keeps what was written since the last digest (journal.jsonl, one
// object per line, synced before the write is acknowledged) and the head of
// the digest chain (state.json), and writes the digests. A digest is first
// saved as pending, then uploaded, then committed: after a crash the same
// bytes are uploaded again under the same key, so no digest is lost or
// doubled and every acknowledged object is listed.
type digester struct {
	archive ArchiveConfig // the digests are encrypted and locked as the data
	dir     string
	client  *s3.Client
	bucket  string
	prefix  string
	signer  *signing.Signer
	now     func() time.Time
	// head is the audit store's newest signed head for the next digest
	// (nil: none configured, or none to be had).
	head func(context.Context) *auditstore.SignedHead

	mu      sync.Mutex
	state   chainState
	entries []s3digest.Object
	journal *os.File
}

type chainState struct {
	// Start is where the next digest's interval begins: the last one's end.
	Start    string             `json:"start"`
	Previous *s3digest.Previous `json:"previous"`
	Pending  *pendingDigest     `json:"pending,omitempty"`
}

// pendingDigest is a signed digest not yet known to be in the bucket.
type pendingDigest struct {
	Key       string `json:"key"`
	Bytes     []byte `json:"bytes"`
	Signature string `json:"signature"`
	KeyID     string `json:"key_id"`
	End       string `json:"end"`
	Entries   int    `json:"entries"` // how many journal entries it lists
}

const (
	journalFile = "journal.jsonl"
	stateFile   = "state.json"
)

func openDigester(dir string, client *s3.Client, bucket, prefix string, signer *signing.Signer, now func() time.Time, archive ArchiveConfig) (*digester, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("digest.directory: %w", err)
	}
	d := &digester{dir: dir, client: client, bucket: bucket, prefix: prefix, signer: signer, now: now, archive: archive}
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	switch {
	case errors.Is(err, os.ErrNotExist):
		d.state.Start = d.now().UTC().Format(s3digest.TimeLayout)
		if err := d.saveState(); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, fmt.Errorf("reading the digest state: %w", err)
	default:
		if err := json.Unmarshal(b, &d.state); err != nil {
			return nil, fmt.Errorf("reading the digest state %s: %w", filepath.Join(dir, stateFile), err)
		}
	}
	if d.entries, err = readJournal(filepath.Join(dir, journalFile)); err != nil {
		return nil, err
	}
	if d.journal, err = os.OpenFile(filepath.Join(dir, journalFile), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640); err != nil {
		return nil, fmt.Errorf("opening the digest journal: %w", err)
	}
	return d, nil
}

func readJournal(path string) ([]s3digest.Object, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the digest journal: %w", err)
	}
	defer f.Close()
	var out []s3digest.Object
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var o s3digest.Object
		if err := json.Unmarshal(sc.Bytes(), &o); err != nil {
			// A line cut by a crash before its sync was never acknowledged:
			// the queue sends that request again.
			continue
		}
		out = append(out, o)
	}
	return out, sc.Err()
}

// record adds written objects to the journal, synced, before the request is
// acknowledged.
func (d *digester) record(objs []s3digest.Object) error {
	var buf bytes.Buffer
	for _, o := range objs {
		b, err := json.Marshal(o)
		if err != nil {
			return err
		}
		buf.Write(b)
		buf.WriteByte('\n')
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, err := d.journal.Write(buf.Bytes()); err != nil {
		return err
	}
	if err := d.journal.Sync(); err != nil {
		return err
	}
	d.entries = append(d.entries, objs...)
	return nil
}

// emit writes the pending digest, or a new one for what was written since
// the last; it returns how many digests it wrote.
func (d *digester) emit(ctx context.Context) (int, error) {
	d.mu.Lock()
	pending := d.state.Pending
	d.mu.Unlock()
	var head *auditstore.SignedHead
	if pending == nil && d.head != nil {
		head = d.head(ctx) // outside the lock: records are not held up by the store's answer
	}
	d.mu.Lock()
	pending = d.state.Pending
	if pending == nil {
		var err error
		if pending, err = d.sign(head); err != nil {
			d.mu.Unlock()
			return 0, err
		}
	}
	d.mu.Unlock()
	if err := d.upload(ctx, pending); err != nil {
		return 0, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return 1, d.commit(pending)
}

// sign makes the next digest and saves it as pending. Called with mu held.
func (d *digester) sign(head *auditstore.SignedHead) (*pendingDigest, error) {
	start, err := time.Parse(s3digest.TimeLayout, d.state.Start)
	if err != nil {
		return nil, fmt.Errorf("the digest state's start %q: %w", d.state.Start, err)
	}
	end := d.now().UTC().Truncate(time.Millisecond)
	if !end.After(start) {
		end = start.Add(time.Millisecond)
	}
	n := len(d.entries)
	signed, err := s3digest.Sign(d.signer, s3digest.Key(d.prefix, end), s3digest.Digest{
		Bucket: d.bucket, DigestPrefix: d.prefix, Start: d.state.Start, End: end.Format(s3digest.TimeLayout),
		Objects: listOnce(d.entries[:n]), Previous: d.state.Previous, AuditStoreHead: head,
	})
	if err != nil {
		return nil, err
	}
	p := &pendingDigest{Key: signed.Key, Bytes: signed.Bytes, Signature: signed.Signature, KeyID: d.signer.KeyID(),
		End: signed.Digest.End, Entries: n}
	d.state.Pending = p
	if err := d.saveState(); err != nil {
		d.state.Pending = nil
		return nil, err
	}
	return p, nil
}

// listOnce lists each key once (a retried request writes the same keys
// again), in key order.
func listOnce(entries []s3digest.Object) []s3digest.Object {
	seen := make(map[string]bool, len(entries))
	out := make([]s3digest.Object, 0, len(entries))
	for _, e := range entries {
		if !seen[e.Key] {
			seen[e.Key] = true
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// upload writes the digest with its signature in the object's metadata,
// and the signature beside it.
func (d *digester) upload(ctx context.Context, p *pendingDigest) error {
	if _, err := d.archive.Put(ctx, d.client, &s3.PutObjectInput{
		Bucket: aws.String(d.bucket), Key: aws.String(p.Key), Body: bytes.NewReader(p.Bytes),
		ContentType: aws.String("application/json"),
		Metadata:    map[string]string{s3digest.MetaSignature: p.Signature, s3digest.MetaKeyID: p.KeyID},
	}, d.now()); err != nil {
		return fmt.Errorf("writing the digest s3://%s/%s: %w", d.bucket, p.Key, err)
	}
	if _, err := d.archive.Put(ctx, d.client, &s3.PutObjectInput{
		Bucket: aws.String(d.bucket), Key: aws.String(p.Key + s3digest.SignatureSuffix),
		Body: bytes.NewReader([]byte(p.Signature)), ContentType: aws.String("text/plain"),
	}, d.now()); err != nil {
		return fmt.Errorf("writing the digest's signature s3://%s/%s%s: %w", d.bucket, p.Key, s3digest.SignatureSuffix, err)
	}
	return nil
}

// commit makes the written digest the chain's head and drops the entries it
// lists from the journal. Called with mu held.
func (d *digester) commit(p *pendingDigest) error {
	signed := s3digest.Signed{Key: p.Key, Bytes: p.Bytes, Signature: p.Signature}
	signed.Digest.KeyID = p.KeyID
	d.state = chainState{Start: p.End, Previous: signed.AsPrevious()}
	d.entries = append([]s3digest.Object(nil), d.entries[min(p.Entries, len(d.entries)):]...)
	if err := d.rewriteJournal(); err != nil {
		return err
	}
	return d.saveState()
}

func (d *digester) rewriteJournal() error {
	var buf bytes.Buffer
	for _, o := range d.entries {
		b, _ := json.Marshal(o)
		buf.Write(b)
		buf.WriteByte('\n')
	}
	path := filepath.Join(d.dir, journalFile)
	if err := writeFileSynced(path, buf.Bytes()); err != nil {
		return err
	}
	_ = d.journal.Close()
	var err error
	d.journal, err = os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	return err
}

func (d *digester) saveState() error {
	b, err := json.Marshal(d.state)
	if err != nil {
		return err
	}
	return writeFileSynced(filepath.Join(d.dir, stateFile), b)
}

// writeFileSynced replaces path atomically: a temporary file, synced, renamed.
func writeFileSynced(path string, b []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return err
	}
	if _, err = f.Write(b); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func (d *digester) close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.journal.Close()
}
