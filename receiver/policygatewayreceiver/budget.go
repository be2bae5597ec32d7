// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package policygatewayreceiver

import (
	"errors"
	"io"
	"sync/atomic"
)

// byteBudget caps the request bytes held across all connections at once, so
// that many large (or decompressed) bodies arriving together cannot take the
// sidecar's memory: past the cap a request is answered 503 with Retry-After
// instead of read further.
type byteBudget struct {
	limit int64
	used  atomic.Int64
}

var errBudget = errors.New("the receiver holds max_in_flight_bytes of requests already")

// decodeFactor is how many bytes a request holds, while it is decoded and
// handed on, per byte of its body: the decoded records and their pdata. The
// Go benchmarks measure it (BenchmarkSplit, BenchmarkDecisionsEndpoint: about
// 7.5 bytes allocated per body byte to decode flat records); a request
// reserves its body and this many times its body before it is decoded.
const decodeFactor = 8

// readBody reads r into memory, reserving each chunk from the budget before
// it is read; release returns what was reserved. On errBudget nothing more
// is read.
func (b *byteBudget) readBody(r io.Reader) (body []byte, release func(), err error) {
	var reserved int64
	release = func() { b.used.Add(-reserved) }
	reserve := func(n int) bool {
		if b.used.Add(int64(n)) > b.limit {
			b.used.Add(-int64(n))
			return false
		}
		reserved += int64(n)
		return true
	}
	const first = 64 << 10
	if !reserve(first) {
		return nil, release, errBudget
	}
	buf := make([]byte, 0, first)
	for {
		if len(buf) == cap(buf) {
			// Doubling: the old buffer is garbage once copied, so the
			// reservation (the sum of both) bounds what this body holds.
			if !reserve(cap(buf)) {
				return nil, release, errBudget
			}
			grown := make([]byte, len(buf), 2*cap(buf))
			copy(grown, buf)
			buf = grown
		}
		n, rerr := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if rerr == io.EOF {
			// What decoding it will hold, before it is decoded.
			if !reserve(decodeFactor * len(buf)) {
				return nil, release, errBudget
			}
			return buf, release, nil
		}
		if rerr != nil {
			return nil, release, rerr
		}
	}
}
