// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package journalconnector

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
)

// reader reads one pipeline's way through the journal's durable entries.
type reader struct {
	j   *journal
	pos position
	f   *os.File // the segment pos is in, open while reading it
	seq uint64
}

// errCorrupt names an entry that fails its checksum in a closed segment:
// the disk changed under the journal.
var errCorrupt = errors.New("journal entry fails its checksum")

// read returns the entries from the reader's position on, at least one if
// there is any durable one and at most maxBytes together otherwise, and the
// position after them. It does not move the reader: advance does, once the
// entries are delivered.
func (r *reader) read(maxBytes int) (payloads [][]byte, next position, err error) {
	next = r.pos
	total := 0
	var hdr [headerSize]byte
	for {
		end, active, ok := r.j.segmentEnd(next.Segment)
		if !ok {
			// The segment is gone (every pipeline was past it when a cursor
			// saved without a sync was lost to a crash): go on from the
			// oldest entry still held.
			if oldest := r.j.oldest(); next.before(oldest) {
				next = oldest
				continue
			}
			return payloads, next, nil
		}
		if next.Offset >= end {
			if active {
				return payloads, next, nil
			}
			seq, more := r.j.nextSegment(next.Segment)
			if !more {
				return payloads, next, nil
			}
			next = position{Segment: seq}
			continue
		}
		f, err := r.open(next.Segment)
		if err != nil {
			return payloads, next, err
		}
		if _, err := f.ReadAt(hdr[:], next.Offset); err != nil {
			return payloads, next, fmt.Errorf("reading the journal: %w", err)
		}
		n := int(binary.LittleEndian.Uint32(hdr[:4]))
		if n > maxEntry || next.Offset+headerSize+int64(n) > end {
			return payloads, next, fmt.Errorf("%w: segment %d at %d", errCorrupt, next.Segment, next.Offset)
		}
		if len(payloads) > 0 && total+n > maxBytes {
			return payloads, next, nil
		}
		buf := make([]byte, n)
		if _, err := f.ReadAt(buf, next.Offset+headerSize); err != nil {
			return payloads, next, fmt.Errorf("reading the journal: %w", err)
		}
		if crc32.Checksum(buf, crcTable) != binary.LittleEndian.Uint32(hdr[4:]) {
			return payloads, next, fmt.Errorf("%w: segment %d at %d", errCorrupt, next.Segment, next.Offset)
		}
		payloads = append(payloads, buf)
		total += n
		next.Offset += headerSize + int64(n)
	}
}

// skipCorrupt moves past a segment whose entry failed its checksum (what
// follows in it cannot be framed); false when no later segment exists yet.
func (r *reader) skipCorrupt() bool {
	seq, ok := r.j.nextSegment(r.pos.Segment)
	if ok {
		r.advance(position{Segment: seq})
	}
	return ok
}

func (r *reader) open(seq uint64) (*os.File, error) {
	if r.f != nil && r.seq == seq {
		return r.f, nil
	}
	r.close()
	f, err := os.Open(r.j.path(seq))
	if err != nil {
		return nil, err
	}
	r.f, r.seq = f, seq
	return f, nil
}

func (r *reader) advance(p position) {
	r.pos = p
	if r.f != nil && r.seq != p.Segment {
		r.close()
	}
}

func (r *reader) close() {
	if r.f != nil {
		_ = r.f.Close()
		r.f = nil
	}
}
