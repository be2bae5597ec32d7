// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package s3auditexporter

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"path"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/policyaudit/policyaudit/internal/pdatajson"
	"github.com/policyaudit/policyaudit/internal/record"
	"github.com/policyaudit/policyaudit/internal/s3digest"
)

// object is one data object to write: the JSON lines of the records of one
// key prefix, and what its digest entry says of them.
type object struct {
	prefix string
	lines  []byte
	logs   plog.LogRecordSlice // the records, when an encoding writes the object
	entry  s3digest.Object
}

// add appends a log body as a JSON line (as jsonl_encoding writes it) and
// widens the created_at range.
func (o *object) add(lr plog.LogRecord, encoded bool) {
	body := lr.Body()
	if encoded {
		lr.CopyTo(o.logs.AppendEmpty())
	} else {
		if len(o.lines) > 0 {
			o.lines = append(o.lines, '\n')
		}
		o.lines = pdatajson.AppendValue(o.lines, body)
	}
	o.entry.Records++
	if body.Type() != pcommon.ValueTypeMap {
		return
	}
	// The record's time: a canonical record's, an Elastic document's, an
	// OCSF event's.
	created := pdatajson.StringAt(body.Map(), "created_at")
	if created == "" {
		created = pdatajson.StringAt(body.Map(), "@timestamp")
	}
	if created == "" {
		created = pdatajson.StringAt(body.Map(), "metadata", "original_time")
	}
	if created == "" {
		return
	}
	if o.entry.Oldest == "" || created < o.entry.Oldest {
		o.entry.Oldest = created
	}
	if created > o.entry.Newest {
		o.entry.Newest = created
	}
}

// seal names the object and hashes it; it returns the content: what the
// encoding writes, else the gzip JSON lines.
func (o *object) seal(filePrefix string, enc plog.Marshaler, extension string) ([]byte, error) {
	if enc != nil {
		ld := plog.NewLogs()
		o.logs.MoveAndAppendTo(ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords())
		content, err := enc.MarshalLogs(ld)
		if err != nil {
			return nil, err
		}
		o.name(filePrefix, sha256.Sum256(content), extension)
		return content, nil
	}
	o.name(filePrefix, sha256.Sum256(o.lines), "jsonl.gz")
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(o.lines); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// name sets the object's hash and its key, from the content's hash.
func (o *object) name(filePrefix string, sum [32]byte, extension string) {
	o.entry.SHA256 = hex.EncodeToString(sum[:])
	oldest, _ := time.Parse(record.TimestampLayout, o.entry.Oldest)
	o.entry.Key = path.Join(o.prefix, filePrefix+"logs_"+contentUUIDv7(oldest, sum)+"."+extension)
}

// contentUUIDv7 is a UUIDv7 (RFC 9562) whose time is the oldest record's
// and whose other bits are the content's SHA-256: the same content always
// gets the same key, so a retried upload overwrites itself instead of
// leaving a second copy, and keys still sort by time as awss3exporter's
// uuidv7 keys do.
func contentUUIDv7(t time.Time, sum [32]byte) string {
	var u [16]byte
	ms := uint64(max(t.UnixMilli(), 0))
	for i := 0; i < 6; i++ {
		u[i] = byte(ms >> (40 - 8*i))
	}
	copy(u[6:], sum[:10])
	u[6] = (u[6] & 0x0f) | 0x70
	u[8] = (u[8] & 0x3f) | 0x80
	return uuid.UUID(u).String()
}

// groupByPrefix splits a request into one object per key prefix.
func (e *s3Audit) groupByPrefix(ld plog.Logs) []*object {
	byPrefix := map[string]*object{}
	var order []*object
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		prefix := e.cfg.Prefix
		if v, ok := rl.Resource().Attributes().Get(e.cfg.PrefixAttribute); ok && v.Str() != "" {
			prefix = v.Str()
		}
		o, ok := byPrefix[prefix]
		if !ok {
			o = &object{prefix: prefix, logs: plog.NewLogRecordSlice()}
			byPrefix[prefix] = o
			order = append(order, o)
		}
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				o.add(lrs.At(k), e.encoding != nil)
			}
		}
	}
	return order
}
