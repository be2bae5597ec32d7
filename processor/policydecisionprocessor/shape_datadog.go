// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package policydecisionprocessor

import (
	"slices"
	"strings"
	"sync"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/policyaudit/policyaudit/internal/pdatajson"
	"github.com/policyaudit/policyaudit/internal/record"
)

// datadogShape (destination datadog): the canonical record as the message,
// its fields as log attributes, and the keys the Datadog exporter's logs
// pipeline reads the source (datadog.log.source), the service
// (service.name) and the tags (ddtags) from.
type datadogShape struct {
	inBody
	datadog DatadogConfig
}

func (s datadogShape) finish(h *record.Record, canonical pcommon.Map, lr plog.LogRecord) (ocsfFinding, bool) {
	attrs := lr.Attributes()
	fitDatadogLog(canonical)
	attrs.EnsureCapacity(attrs.Len() + canonical.Len() + 3)
	for k, v := range canonical.All() {
		v.CopyTo(attrs.PutEmpty(k))
	}
	attrs.PutStr("datadog.log.source", s.datadog.Source)
	attrs.PutStr("service.name", s.datadog.Service)
	attrs.PutStr("ddtags", ddtags(h))
	return ocsfFinding{}, false
}

// Datadog's logs intake truncates a log over 1 MB, and what it cuts (the
// end of the log, where attributes may sit) is lost. A Datadog log carries
// the record twice, as its message and as its attributes: a record over
// datadogRecordBudget bytes of canonical JSON goes without its fields over
// datadogFieldBudget, and names them in policyaudit_omitted, so the log
// fits whole and keeps every identifying field. The other destinations
// keep the complete record.
const (
	datadogRecordBudget = 400_000
	datadogFieldBudget  = 1024
)

// fitDatadogLog removes the large fields of a record too large for one
// Datadog log.
func fitDatadogLog(canonical pcommon.Map) {
	buf := sizeBuffers.Get().(*[]byte)
	defer sizeBuffers.Put(buf)
	if *buf = pdatajson.AppendCanonicalMap((*buf)[:0], canonical); len(*buf) <= datadogRecordBudget {
		return
	}
	var omitted []string
	canonical.RemoveIf(func(k string, v pcommon.Value) bool {
		if *buf = pdatajson.AppendCanonicalValue((*buf)[:0], v); len(*buf) > datadogFieldBudget {
			omitted = append(omitted, k)
			return true
		}
		return false
	})
	slices.Sort(omitted)
	list := canonical.PutEmptySlice("policyaudit_omitted")
	for _, k := range omitted {
		list.AppendEmpty().SetStr(k)
	}
}

// sizeBuffers hold a record's encoding while fitDatadogLog measures it.
var sizeBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// ddtags are the Datadog tags of records.md section 4: decision, policy_id
// and rollout_mode for decisions; action and outcome for admin events.
func ddtags(h *record.Record) string {
	var b strings.Builder
	if h.Kind == record.KindAdmin {
		tag(&b, record.FieldAction, h.Action)
		tag(&b, record.FieldOutcome, h.Outcome)
		if h.PolicyID != "" {
			tag(&b, record.FieldPolicyID, h.PolicyID)
		}
		return b.String()
	}
	tag(&b, record.FieldDecision, h.Decision)
	tag(&b, record.FieldPolicyID, h.PolicyID)
	tag(&b, record.FieldRolloutMode, h.RolloutMode)
	return b.String()
}

// tag appends name:value to a Datadog tag list.
func tag(b *strings.Builder, name, value string) {
	if b.Len() > 0 {
		b.WriteByte(',')
	}
	b.WriteString(name)
	b.WriteByte(':')
	b.WriteString(value)
}
