// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
)

// matchingLines reads JSON lines (gzip-compressed when they start with the
// gzip magic) and returns the records whose correlation_id is cid.
func matchingLines(r io.Reader, cid string) ([]map[string]any, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	if magic, _ := br.Peek(2); bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, err
		}
		defer zr.Close()
		br = bufio.NewReaderSize(zr, 64<<10)
	}
	needle := []byte(cid)
	sc := bufio.NewScanner(br)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var out []map[string]any
	for sc.Scan() {
		line := sc.Bytes()
		if !bytes.Contains(line, needle) {
			continue // most lines: no JSON decoding
		}
		var rec map[string]any
		if json.Unmarshal(line, &rec) == nil && rec["correlation_id"] == cid {
			out = append(out, rec)
		}
	}
	return out, sc.Err()
}
