// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package record

import (
	"slices"
	"sync"
	"time"

	"github.com/policyaudit/policyaudit/internal/pdatajson"
)

// appendContent appends what an event_id is derived from, read from the
// record's fields rather than from its canonical map: the RFC 8785 encoding
// of the canonical record without event_id and without an empty
// correlation_id, byte for byte what pdatajson.AppendCanonicalMapWithout
// writes for CopyTo's map (TestContentMatchesTheMap). It needs no sort: each
// field's entry goes to the place of its name in key order, known from
// fields.go. ok is false when a free-form value cannot be encoded; the
// caller then encodes the map.
func (r *Record) appendContent(dst []byte) (out []byte, ok bool) {
	s := contentSinks.Get().(*contentSink)
	defer contentSinks.Put(s)
	s.reset(r.Kind)
	r.writeFields(s)
	if s.failed {
		return dst, false
	}
	dst = append(dst, '{')
	first := true
	for _, sp := range s.spans[:len(s.fields)] {
		if sp.end == 0 {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = append(dst, s.buf[sp.start:sp.end]...)
	}
	return append(dst, '}'), true
}

var contentSinks = sync.Pool{New: func() any { return new(contentSink) }}

// keyRanks[kind][i] is the place of FieldsOf(kind)[i]'s name in key order
// (the names are ASCII: byte order is RFC 8785's UTF-16 order).
var keyRanks = [...][]uint8{KindDecision: ranksOf(decisionFields), KindAdmin: ranksOf(adminFields)}

func ranksOf(fields []Field) []uint8 {
	order := make([]int, len(fields))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		if fields[a].Name < fields[b].Name {
			return -1
		}
		return 1
	})
	ranks := make([]uint8, len(fields))
	for rank, i := range order {
		ranks[i] = uint8(rank)
	}
	return ranks
}

type span struct{ start, end int }

// contentSink encodes each field writeFields gives as `"name":value` into
// buf and notes where, by the name's rank.
type contentSink struct {
	buf    []byte
	spans  [64]span
	fields []Field // of the record's kind, in writeFields order
	ranks  []uint8
	next   int // fields[next] is the earliest field still to come
	failed bool
	nested objectSink
}

func (s *contentSink) reset(k Kind) {
	if k != KindAdmin {
		k = KindDecision
	}
	s.buf, s.fields, s.ranks, s.next, s.failed = s.buf[:0], FieldsOf(k), keyRanks[k], 0, false
	clear(s.spans[:len(s.fields)])
}

// begin starts the entry of field k: false when it is left out of the
// content.
func (s *contentSink) begin(k string) (rank int, ok bool) {
	for s.next < len(s.fields) && s.fields[s.next].Name != k {
		s.next++
	}
	if s.next == len(s.fields) || k == FieldEventID {
		s.failed = s.failed || k != FieldEventID // a field fields.go does not list
		return 0, false
	}
	rank = int(s.ranks[s.next])
	s.next++
	s.spans[rank].start = len(s.buf)
	// Field names need no escaping (TestFieldNamesArePlain).
	s.buf = append(s.buf, '"')
	s.buf = append(s.buf, k...)
	s.buf = append(s.buf, '"', ':')
	return rank, true
}

func (s *contentSink) finish(rank int) { s.spans[rank].end = len(s.buf) }

func (s *contentSink) str(k, v string) {
	if k == FieldCorrelationID && v == "" {
		return
	}
	if rank, ok := s.begin(k); ok {
		s.buf = pdatajson.AppendCanonicalString(s.buf, v)
		s.finish(rank)
	}
}

func (s *contentSink) time(k string, v time.Time) {
	if rank, ok := s.begin(k); ok {
		s.buf = append(s.buf, '"')
		s.buf = AppendTimestamp(s.buf, v)
		s.buf = append(s.buf, '"')
		s.finish(rank)
	}
}

func (s *contentSink) boolean(k string, v bool) {
	if rank, ok := s.begin(k); ok {
		if v {
			s.buf = append(s.buf, "true"...)
		} else {
			s.buf = append(s.buf, "false"...)
		}
		s.finish(rank)
	}
}

func (s *contentSink) strs(k string, v []string) {
	if rank, ok := s.begin(k); ok {
		s.buf = append(s.buf, '[')
		for i, e := range v {
			if i > 0 {
				s.buf = append(s.buf, ',')
			}
			s.buf = pdatajson.AppendCanonicalString(s.buf, e)
		}
		s.buf = append(s.buf, ']')
		s.finish(rank)
	}
}

func (s *contentSink) free(k string, raw map[string]any) {
	if rank, ok := s.begin(k); ok {
		var err error
		if s.buf, err = pdatajson.AppendCanonicalAny(s.buf, raw); err != nil {
			s.failed = true
		}
		s.finish(rank)
	}
}

func (s *contentSink) object(k string) fieldSink {
	rank, ok := s.begin(k)
	s.nested = objectSink{parent: s, rank: rank, skip: !ok, entries: s.nested.entries[:0]}
	return &s.nested
}

func (s *contentSink) end() {}

// objectSink collects a nested object's string fields (actor, resource: a
// few each) and writes them sorted into its parent's entry.
type objectSink struct {
	parent  *contentSink
	rank    int
	skip    bool
	entries [][2]string
}

func (o *objectSink) str(k, v string)             { o.entries = append(o.entries, [2]string{k, v}) }
func (o *objectSink) boolean(string, bool)        { o.parent.failed = true }
func (o *objectSink) time(string, time.Time)      { o.parent.failed = true }
func (o *objectSink) strs(string, []string)       { o.parent.failed = true }
func (o *objectSink) free(string, map[string]any) { o.parent.failed = true }
func (o *objectSink) object(string) fieldSink     { o.parent.failed = true; return o }

func (o *objectSink) end() {
	if o.skip {
		return
	}
	slices.SortFunc(o.entries, func(a, b [2]string) int {
		if a[0] < b[0] {
			return -1
		}
		return 1
	})
	p := o.parent
	p.buf = append(p.buf, '{')
	for i, e := range o.entries {
		if i > 0 {
			p.buf = append(p.buf, ',')
		}
		p.buf = pdatajson.AppendCanonicalString(p.buf, e[0])
		p.buf = append(p.buf, ':')
		p.buf = pdatajson.AppendCanonicalString(p.buf, e[1])
	}
	p.buf = append(p.buf, '}')
	p.finish(o.rank)
}
