// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

// Package evidence writes and checks evidence bundles: one tar.gz an
// auditor takes away with the records of a time range, the links that tie
// them to a signed head of the audit store, the signed heads, a summary
// per policy and version (JSON, CSV, Markdown), and a manifest with every
// file's SHA-256, signed with the store's key. Verify needs the bundle and
// the public key, nothing else: no database, no network.
//
// The range selects records by created_at (the gateway's time). The chain
// orders records by when the store received them (stored_ms, never
// decreasing), which is what makes a bundle complete: each chain's run
// starts at a record stored before the range's start (or at the chain's
// first record) and ends at a head signed after the range's end, so every
// record the store received in the range lies inside the run, and the
// links leave no room to drop one. docs/evidence.md describes the format.
package evidence // import "github.com/policyaudit/policyaudit/internal/evidence"

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/policyaudit/policyaudit/internal/auditstore"
)

// Format names the bundle's layout in its manifest.
const Format = "policyaudit.evidence.v1"

// The files of a bundle.
const (
	FileManifest  = "manifest.json"
	FileSignature = "manifest.sig" // base64 Ed25519 over manifest.json's bytes
	FileRecords   = "records.jsonl"
	FileHeads     = "heads.json"
	FileKeys      = "keys.json"
	FileSummary   = "summary.json"
	FileCSV       = "summary.csv"
	FileReport    = "report.md"
	FileDigests   = "s3-digests.jsonl" // only with an S3 trail
)

// Manifest describes a bundle and lists its files with their SHA-256.
type Manifest struct {
	Format       string      `json:"format"`
	From         string      `json:"from"`
	To           string      `json:"to"`
	Policy       string      `json:"policy,omitempty"`
	GapThreshold string      `json:"gap_threshold"`
	CreatedAt    string      `json:"created_at"`
	KeyID        string      `json:"key_id"`
	Chains       []ChainRun  `json:"chains"`
	S3           []S3Entry   `json:"s3,omitempty"`
	Files        []FileEntry `json:"files"`
}

// ChainRun is the run of one chain's links the bundle carries.
type ChainRun struct {
	Chain string `json:"chain"`
	// FirstSeq is the run's first link; HeadSeq the signed head it ends at.
	FirstSeq int64 `json:"first_seq"`
	HeadSeq  int64 `json:"head_seq"`
	// KeyID signed the head the run ends at (in a fleet each collector
	// signs its own chain's heads).
	KeyID string `json:"key_id,omitempty"`
}

// FileEntry is one file of the bundle.
type FileEntry struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
	Bytes  int    `json:"bytes"`
}

// ChainHead is a signed head of a named chain, as heads.json lists it.
type ChainHead struct {
	Chain string `json:"chain"`
	auditstore.SignedHead
}

// Key is a public key the bundle's heads name.
type Key struct {
	KeyID     string `json:"key_id"`
	PublicKey string `json:"public_key"`
}

func sha(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// writeTar writes files (names sorted, manifest first) as a tar.gz with
// fixed times and modes, so the same bundle is the same bytes.
func writeTar(w io.Writer, files map[string][]byte, at time.Time) error {
	names := make([]string, 0, len(files))
	for n := range files {
		if n != FileManifest && n != FileSignature {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	names = append([]string{FileManifest, FileSignature}, names...)
	zw := gzip.NewWriter(w)
	tw := tar.NewWriter(zw)
	for _, n := range names {
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(files[n])), ModTime: at, Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		if _, err := tw.Write(files[n]); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return zw.Close()
}

// maxBundleFile bounds one file read from a bundle (a hostile bundle must
// not exhaust the verifier's memory).
const maxBundleFile = 1 << 30

// maxBundleFiles and maxBundleBytes bound what a hostile bundle can make
// the verifier hold.
const (
	maxBundleFiles = 32
	maxBundleBytes = 4 << 30
)

// readTar reads a bundle's files.
func readTar(r io.Reader) (map[string][]byte, error) {
	total := int64(0)
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("not a gzip file: %w", err)
	}
	tr := tar.NewReader(zr)
	files := map[string][]byte{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading the tar: %w", err)
		}
		if h.Typeflag != tar.TypeReg {
			return nil, fmt.Errorf("%s: not a regular file", h.Name)
		}
		if _, dup := files[h.Name]; dup {
			return nil, fmt.Errorf("%s: twice in the bundle", h.Name)
		}
		if len(files) == maxBundleFiles {
			return nil, fmt.Errorf("more than %d files: not an evidence bundle", maxBundleFiles)
		}
		if total += h.Size; h.Size > maxBundleFile || total > maxBundleBytes {
			return nil, fmt.Errorf("%s: the bundle holds more than its limits (%d bytes a file, %d in all)", h.Name, maxBundleFile, maxBundleBytes)
		}
		var b bytes.Buffer
		n, err := io.Copy(&b, io.LimitReader(tr, maxBundleFile+1))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", h.Name, err)
		}
		if n > maxBundleFile {
			return nil, fmt.Errorf("%s: larger than %d bytes", h.Name, maxBundleFile)
		}
		files[h.Name] = b.Bytes()
	}
}

// encodeLines writes rows as JSON lines.
func encodeLines(rows []auditstore.Row) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	for _, r := range rows {
		_ = enc.Encode(r)
	}
	return b.Bytes()
}

// compact is v as one line of JSON: a signed statement inside keeps its
// exact bytes (indenting would change them, and the signature with them).
func compact(v any) []byte {
	b, _ := json.Marshal(v)
	return append(b, '\n')
}

func indented(v any) []byte {
	b, _ := json.MarshalIndent(v, "", "  ")
	return append(b, '\n')
}

// ReadBundle reads a bundle's files by name (to show its report; Verify
// checks them).
func ReadBundle(r io.Reader) (map[string][]byte, error) { return readTar(r) }
