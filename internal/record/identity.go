// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package record

import (
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // UUIDv5 is defined over SHA-1; unkeyed IDs name, they do not protect.
	"crypto/sha256"
	"hash"
	"sync"

	"github.com/google/uuid"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/policyaudit/policyaudit/internal/pdatajson"
)

// MinIDKeyLength is the shortest identifier key accepted (128 bits).
const MinIDKeyLength = 16

// Namer derives the identifiers a record's input did not carry: event_id
// from the canonical record's content (RFC 8785 bytes, without event_id and
// without an empty correlation_id), and a missing correlation_id from the
// event_id. The same record always gets the same identifiers, whatever
// receiver or pipeline it came through, so replays de-duplicate.
//
// With a key they are HMAC-SHA256 under it, written as RFC 9562 UUIDv8: they
// confirm nothing about the content (a pseudonymised user ID included) to
// anyone without the key. Without a key they are UUIDv5 (SHA-1) in
// policyaudit's namespace, which anyone can recompute from a guess: only for
// pipelines with no PII rules (the processor refuses the combination).
type Namer struct {
	keyed bool
	pool  sync.Pool // hash.Hash: HMAC state is not safe for concurrent use
}

// NewNamer returns a Namer keyed with key, or unkeyed when key is empty.
func NewNamer(key []byte) *Namer {
	n := &Namer{keyed: len(key) > 0}
	k := append([]byte(nil), key...)
	n.pool.New = func() any {
		if n.keyed {
			return hmac.New(sha256.New, k)
		}
		return sha1.New() //nolint:gosec
	}
	return n
}

// Keyed reports whether the identifiers are keyed.
func (n *Namer) Keyed() bool { return n.keyed }

// Name fills in rec and in the canonical map m the event_id and
// correlation_id that are empty, derived from m's content.
func (n *Namer) Name(rec *Record, m pcommon.Map) { n.name(rec, m, false) }

// NameCanonical is Name for a map that is rec's canonical record (what
// Record.CopyTo writes, or what ReadCanonical accepted), extra aside: the
// data policy may have dropped prompts from it. Without extra the content is
// read from rec's fields, which is cheaper than encoding the map; the IDs
// are the same (TestNameCanonicalIsName).
func (n *Namer) NameCanonical(rec *Record, m pcommon.Map) { n.name(rec, m, true) }

func (n *Namer) name(rec *Record, m pcommon.Map, canonical bool) {
	if rec.EventID == "" {
		buf := canonicalBuffers.Get().(*[]byte)
		ok := false
		if canonical && len(rec.Extra) == 0 {
			*buf, ok = rec.appendContent((*buf)[:0])
		}
		if !ok {
			*buf = pdatajson.AppendCanonicalMapWithout((*buf)[:0], m, withoutIdentity)
		}
		rec.EventID = n.derive(eventDomain, *buf)
		canonicalBuffers.Put(buf)
		m.PutStr(FieldEventID, rec.EventID)
	}
	if rec.CorrelationID == "" {
		rec.CorrelationID = n.derive(correlationDomain, []byte(rec.EventID))
		rec.CorrelationGenerated = true
		m.PutStr(FieldCorrelationID, rec.CorrelationID)
		m.PutBool(FieldCorrelationGenerated, true)
	}
}

// canonicalBuffers hold a record's canonical bytes while its event_id is
// derived.
var canonicalBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

// withoutIdentity leaves out of the event_id's content the event_id itself
// and an empty correlation_id (both are about to be derived).
func withoutIdentity(k string, v pcommon.Value) bool {
	return k == FieldEventID || (k == FieldCorrelationID && v.Str() == "")
}

// The domains keep an event_id and a correlation_id over the same bytes apart.
var (
	eventDomain       = []byte("event\x00")
	correlationDomain = []byte("correlation\x00")
)

// namespace is the UUIDv5 namespace of policyaudit's unkeyed identifiers.
var namespace = [16]byte{0x5c, 0x1e, 0x2a, 0x8f, 0x0d, 0x4b, 0x4e, 0x55, 0x9a, 0x63, 0x7e, 0x01, 0xb2, 0x44, 0xc0, 0xde}

// derive is a UUID over a domain label and content: UUIDv8 from
// HMAC-SHA256 when keyed, else UUIDv5.
func (n *Namer) derive(domain, content []byte) string {
	h := n.pool.Get().(hash.Hash)
	defer n.pool.Put(h)
	h.Reset()
	if !n.keyed {
		h.Write(namespace[:])
	}
	h.Write(domain)
	h.Write(content)
	var sum [sha256.Size]byte
	var u [16]byte
	copy(u[:], h.Sum(sum[:0]))
	version := byte(0x50)
	if n.keyed {
		version = 0x80
	}
	u[6] = (u[6] & 0x0f) | version
	u[8] = (u[8] & 0x3f) | 0x80
	return uuid.UUID(u).String()
}
