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

// matcher picks records out of JSON lines: a line is decoded only when it
// holds one of the needles, and kept when keep accepts its record.
type matcher struct {
	needles [][]byte
	keep    func(rec map[string]any) bool
}

// byCorrelationID matches the records whose correlation_id is cid.
func byCorrelationID(cid string) matcher {
	return matcher{needles: [][]byte{[]byte(cid)}, keep: func(rec map[string]any) bool { return rec["correlation_id"] == cid }}
}

// matchingLines reads JSON lines (gzip-compressed when they start with the
// gzip magic) and returns the records whose correlation_id is cid.
func matchingLines(r io.Reader, cid string) ([]map[string]any, error) {
	return matchingRecords(r, byCorrelationID(cid))
}

// matchingRecords is matchingLines for any matcher.
func matchingRecords(r io.Reader, m matcher) ([]map[string]any, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	if magic, _ := br.Peek(2); bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, err
		}
		defer zr.Close()
		br = bufio.NewReaderSize(zr, 64<<10)
	}
	sc := bufio.NewScanner(br)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var out []map[string]any
	for sc.Scan() {
		line := sc.Bytes()
		if !containsAny(line, m.needles) {
			continue // most lines: no JSON decoding
		}
		var rec map[string]any
		if json.Unmarshal(line, &rec) == nil && m.keep(rec) {
			out = append(out, rec)
		}
	}
	return out, sc.Err()
}

func containsAny(line []byte, needles [][]byte) bool {
	for _, n := range needles {
		if bytes.Contains(line, n) {
			return true
		}
	}
	return false
}
