// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package datadoglogsexporter

import (
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/policyaudit/policyaudit/internal/pdatajson"
)

// Limits of the Logs intake v2 per request (docs.datadoghq.com, API
// reference, Logs, "Send logs"): 5 MB of uncompressed content, 1,000 logs
// in an array; a log over 1 MB is truncated (the processor's datadog shape
// keeps a record well under it).
const (
	maxPayloadBytes = 5_000_000
	maxLogsPerArray = 1000
)

// The intake keeps a log dated at most 18 hours back and 2 hours ahead
// and silently drops the others (same page). A record that waited out an
// outage, or came from a gateway with a wrong clock, is sent without its
// timestamp, so the intake dates it on arrival; its created_at stays among
// its attributes. An hour's margin on each side covers the queue's hand-off
// and clock skew.
const (
	maxAge   = 17 * time.Hour
	maxAhead = time.Hour
)

// The attributes the processor's datadog shape sets for the intake's
// reserved fields; every other attribute goes into the message.
const (
	attrSource  = "datadog.log.source"
	attrService = "service.name"
	attrTags    = "ddtags"
)

// entry is one log of the intake's array, encoded.
type entry []byte

// appendEntry encodes lr as an intake log, as contrib's datadog exporter
// did, so what a SIEM engineer finds is unchanged: message (a JSON object
// of its attributes, the body as "message", and @timestamp when the intake
// would keep that date), ddsource, service (the resource's service.name,
// else the shape's), ddtags, hostname and status.
func appendEntry(dst []byte, resource pcommon.Map, lr plog.LogRecord, hostname string, now time.Time) (b []byte, undated bool) {
	attrs := lr.Attributes()
	message := make([]byte, 0, 1024)
	message = append(message, '{')
	if ts := lr.Timestamp(); ts != 0 {
		t := ts.AsTime()
		if t.Before(now.Add(-maxAge)) || t.After(now.Add(maxAhead)) {
			undated = true
		} else {
			message = append(message, `"@timestamp":`...)
			message = pdatajson.AppendCanonicalString(message, t.UTC().Format("2006-01-02T15:04:05.000Z07:00"))
		}
	}
	rest := pdatajson.AppendCanonicalMapWithout(nil, attrs, func(k string, _ pcommon.Value) bool {
		return k == attrSource || k == attrService || k == attrTags
	})
	if len(rest) > 2 { // more than {}
		if len(message) > 1 {
			message = append(message, ',')
		}
		message = append(message, rest[1:len(rest)-1]...)
	}
	if body := lr.Body(); body.Type() != pcommon.ValueTypeEmpty {
		if len(message) > 1 {
			message = append(message, ',')
		}
		message = append(message, `"message":`...)
		if body.Type() == pcommon.ValueTypeMap {
			message = pdatajson.AppendCanonicalString(message, string(pdatajson.AppendCanonicalMap(nil, body.Map())))
		} else {
			message = pdatajson.AppendCanonicalString(message, body.AsString())
		}
	}
	message = append(message, '}')

	dst = append(dst, `{"message":`...)
	dst = pdatajson.AppendCanonicalString(dst, string(message))
	for _, f := range [...]struct{ name, attr string }{{"ddsource", attrSource}, {"service", attrService}, {"ddtags", attrTags}} {
		v, ok := attrs.Get(f.attr)
		if rv, inResource := resource.Get(f.attr); f.attr == attrService && inResource && rv.Str() != "" {
			v, ok = rv, true
		}
		if ok && v.Str() != "" {
			dst = append(dst, `,"`...)
			dst = append(dst, f.name...)
			dst = append(dst, `":`...)
			dst = pdatajson.AppendCanonicalString(dst, v.Str())
		}
	}
	dst = append(dst, `,"hostname":`...)
	dst = pdatajson.AppendCanonicalString(dst, hostname)
	dst = append(dst, `,"status":"info"}`...)
	return dst, undated
}

// payloads splits entries into arrays within the intake's limits.
func payloads(entries []entry) [][]entry {
	var out [][]entry
	var cur []entry
	size := 2 // []
	for _, e := range entries {
		if len(cur) > 0 && (len(cur) == maxLogsPerArray || size+1+len(e) > maxPayloadBytes) {
			out = append(out, cur)
			cur, size = nil, 2
		}
		cur = append(cur, e)
		size += len(e) + 1
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}
