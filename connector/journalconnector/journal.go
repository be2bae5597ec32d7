// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package journalconnector

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// The journal is a directory of segments, <16 hex digits>.seg, numbered
// upwards. A segment is a run of entries: a 4-byte length and a 4-byte
// CRC-32C of the payload (both little-endian), then the payload, one
// encoded request. Only the newest segment is written; a crash can leave it
// with a torn last entry, which open cuts off (that request was never
// acknowledged).

const (
	segmentSuffix = ".seg"
	headerSize    = 8
	// maxEntry bounds a length read from disk, so a corrupt header cannot
	// make a reader allocate without limit.
	maxEntry = 1 << 30
)

var (
	crcTable = crc32.MakeTable(crc32.Castagnoli)
	// errFull is returned while the journal holds max_bytes.
	errFull = errors.New("the journal is full until the slowest pipeline catches up")
)

// position is a place in the journal: a segment and a byte offset in it.
type position struct {
	Segment uint64
	Offset  int64
}

func (p position) before(q position) bool {
	return p.Segment < q.Segment || (p.Segment == q.Segment && p.Offset < q.Offset)
}

type segment struct {
	seq  uint64
	size int64
}

type journal struct {
	dir          string
	fsync        bool
	segmentBytes int64
	maxBytes     int64

	// syncMu is held while the active segment is synced or replaced: lock
	// order syncMu, then mu.
	syncMu sync.Mutex

	mu       sync.Mutex
	active   *os.File
	segments []segment // oldest first; the last is the active one
	total    int64
	written  position // the end of the last entry written
	durable  position // the end of the last entry synced
	// advanced is closed, and replaced, whenever durable moves on.
	advanced chan struct{}
	closed   bool
	// cut is how many bytes open cut off the newest segment's tail.
	cut int64
}

// openJournal opens (or starts) the journal in dir, cutting a torn tail off
// its newest segment.
func openJournal(dir string, fsync bool, segmentBytes, maxBytes int64) (*journal, error) {
	j := &journal{dir: dir, fsync: fsync, segmentBytes: segmentBytes, maxBytes: maxBytes, advanced: make(chan struct{})}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, segmentSuffix) {
			continue
		}
		seq, perr := strconv.ParseUint(strings.TrimSuffix(name, segmentSuffix), 16, 64)
		if perr != nil {
			continue
		}
		info, ierr := e.Info()
		if ierr != nil {
			return nil, ierr
		}
		j.segments = append(j.segments, segment{seq: seq, size: info.Size()})
	}
	slices.SortFunc(j.segments, func(a, b segment) int { return cmp.Compare(a.seq, b.seq) })
	if len(j.segments) == 0 {
		j.segments = []segment{{seq: 1}}
	}
	last := &j.segments[len(j.segments)-1]
	f, err := os.OpenFile(j.path(last.seq), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	valid, err := validLength(f)
	if err == nil && valid < last.size {
		err = f.Truncate(valid)
	}
	if err == nil {
		_, err = f.Seek(valid, io.SeekStart)
	}
	if err == nil && fsync {
		err = syncDir(dir)
	}
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	j.cut = last.size - valid
	last.size = valid
	j.active = f
	for _, s := range j.segments {
		j.total += s.size
	}
	j.written = position{Segment: last.seq, Offset: valid}
	j.durable = j.written
	return j, nil
}

func (j *journal) path(seq uint64) string {
	return filepath.Join(j.dir, fmt.Sprintf("%016x%s", seq, segmentSuffix))
}

// validLength reads a segment's entries from the start and returns where the
// last whole one ends.
func validLength(f *os.File) (int64, error) {
	var off int64
	var hdr [headerSize]byte
	var buf []byte
	for {
		if _, err := f.ReadAt(hdr[:], off); err != nil {
			return off, nil
		}
		n := binary.LittleEndian.Uint32(hdr[:4])
		if n > maxEntry {
			return off, nil
		}
		buf = slices.Grow(buf[:0], int(n))[:n]
		if _, err := f.ReadAt(buf, off+headerSize); err != nil {
			return off, nil
		}
		if crc32.Checksum(buf, crcTable) != binary.LittleEndian.Uint32(hdr[4:]) {
			return off, nil
		}
		off += headerSize + int64(n)
	}
}

// append writes one entry and returns once it is durable (synced, with
// fsync on). Appends that arrive while a sync runs share the next one.
func (j *journal) append(payload []byte) error {
	size := int64(headerSize + len(payload))
	entry := make([]byte, size)
	binary.LittleEndian.PutUint32(entry[:4], uint32(len(payload)))
	binary.LittleEndian.PutUint32(entry[4:8], crc32.Checksum(payload, crcTable))
	copy(entry[headerSize:], payload)

	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return errors.New("the journal is closed")
	}
	if j.total+size > j.maxBytes {
		j.mu.Unlock()
		return errFull
	}
	if j.written.Offset >= j.segmentBytes {
		j.mu.Unlock()
		if err := j.roll(); err != nil {
			return err
		}
		j.mu.Lock()
		if j.closed {
			j.mu.Unlock()
			return errors.New("the journal is closed")
		}
	}
	if _, err := j.active.Write(entry); err != nil {
		// Cut what was written of it: the next entry must start whole.
		_ = j.active.Truncate(j.written.Offset)
		_, _ = j.active.Seek(j.written.Offset, io.SeekStart)
		j.mu.Unlock()
		return fmt.Errorf("writing to the journal: %w", err)
	}
	j.written.Offset += size
	j.segments[len(j.segments)-1].size += size
	j.total += size
	target := j.written
	j.mu.Unlock()
	return j.syncTo(target)
}

// roll closes the active segment, synced, and starts the next.
func (j *journal) roll() error {
	j.syncMu.Lock()
	defer j.syncMu.Unlock()
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed || j.written.Offset < j.segmentBytes {
		return nil // closed, or another append rolled it meanwhile
	}
	if j.fsync {
		if err := j.active.Sync(); err != nil {
			return err
		}
	}
	next := j.written.Segment + 1
	f, err := os.OpenFile(j.path(next), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if j.fsync {
		if err := syncDir(j.dir); err != nil {
			_ = f.Close()
			_ = os.Remove(j.path(next))
			return err
		}
	}
	_ = j.active.Close()
	j.active = f
	j.segments = append(j.segments, segment{seq: next})
	j.written = position{Segment: next}
	j.setDurable(j.written)
	return nil
}

// syncTo returns once everything up to target is durable.
func (j *journal) syncTo(target position) error {
	if !j.fsync {
		j.mu.Lock()
		if j.durable.before(target) {
			j.setDurable(target)
		}
		j.mu.Unlock()
		return nil
	}
	j.syncMu.Lock()
	defer j.syncMu.Unlock()
	j.mu.Lock()
	if !j.durable.before(target) {
		j.mu.Unlock()
		return nil // a sync that began after this entry was written covered it
	}
	covered, f := j.written, j.active
	j.mu.Unlock()
	// The active segment cannot be replaced here: roll needs syncMu.
	if err := f.Sync(); err != nil {
		return fmt.Errorf("syncing the journal: %w", err)
	}
	j.mu.Lock()
	j.setDurable(covered)
	j.mu.Unlock()
	return nil
}

// setDurable moves durable on and wakes the readers; j.mu is held.
func (j *journal) setDurable(p position) {
	j.durable = p
	close(j.advanced)
	j.advanced = make(chan struct{})
}

// end returns the durable end and a channel closed when it moves on.
func (j *journal) end() (position, <-chan struct{}) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.durable, j.advanced
}

// bytesAfter is how many durable bytes lie after p.
func (j *journal) bytesAfter(p position) int64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	var n int64
	for i, s := range j.segments {
		size := s.size
		if i == len(j.segments)-1 {
			size = j.durable.Offset
		}
		switch {
		case s.seq > p.Segment:
			n += size
		case s.seq == p.Segment && size > p.Offset:
			n += size - p.Offset
		}
	}
	return n
}

// oldest is where the journal's oldest entry is.
func (j *journal) oldest() position {
	j.mu.Lock()
	defer j.mu.Unlock()
	return position{Segment: j.segments[0].seq}
}

// size is what the journal holds on disk.
func (j *journal) size() int64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.total
}

// segmentEnd returns how long a segment is and whether it is the active
// one; ok is false if it is gone or not begun.
func (j *journal) segmentEnd(seq uint64) (size int64, active, ok bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for i, s := range j.segments {
		if s.seq == seq {
			if i == len(j.segments)-1 {
				return j.durable.Offset, true, true
			}
			return s.size, false, true
		}
	}
	return 0, false, false
}

// nextSegment is the first segment after seq, if there is one.
func (j *journal) nextSegment(seq uint64) (uint64, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, s := range j.segments {
		if s.seq > seq {
			return s.seq, true
		}
	}
	return 0, false
}

// release removes the segments wholly before p: every pipeline is past them.
func (j *journal) release(p position) error {
	j.mu.Lock()
	var gone []uint64
	for len(j.segments) > 1 && j.segments[0].seq < p.Segment {
		gone = append(gone, j.segments[0].seq)
		j.total -= j.segments[0].size
		j.segments = j.segments[1:]
	}
	j.mu.Unlock()
	var errs []error
	for _, seq := range gone {
		if err := os.Remove(j.path(seq)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (j *journal) close() error {
	j.syncMu.Lock()
	defer j.syncMu.Unlock()
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		return nil
	}
	j.closed = true
	return j.active.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
