// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package policydecisionprocessor

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/policyaudit/policyaudit/internal/pdatajson"
	"github.com/policyaudit/policyaudit/internal/record"
)

// splunkShape (destination splunk_hec): the canonical record as the event,
// and as attributes only the HEC indexed fields and the com.splunk.*
// metadata. The splunk_hec exporter makes every log attribute an indexed
// field, and indexed fields cost licence and index size, so only what
// searches filter on (decision, policy, correlation) is indexed; the rest is
// in the event.
type splunkShape struct {
	inBody
	splunk SplunkConfig
}

func (s splunkShape) finish(h *record.Record, _ pcommon.Map, lr plog.LogRecord) (ocsfFinding, bool) {
	attrs := lr.Attributes()
	attrs.Clear()
	attrs.EnsureCapacity(8)
	if h.Kind == record.KindAdmin {
		attrs.PutStr(record.FieldAction, h.Action)
		attrs.PutStr(record.FieldOutcome, h.Outcome)
		attrs.PutStr("com.splunk.sourcetype", s.splunk.AdminSourcetype)
	} else {
		attrs.PutStr(record.FieldDecision, h.Decision)
		attrs.PutStr("com.splunk.sourcetype", s.splunk.Sourcetype)
	}
	pdatajson.PutNonEmpty(attrs, record.FieldPolicyID, h.PolicyID)
	pdatajson.PutNonEmpty(attrs, record.FieldPolicyVersion, h.PolicyVersion)
	attrs.PutStr(record.FieldCorrelationID, h.CorrelationID)
	putSplunkMetadata(attrs, s.splunk)
	return ocsfFinding{}, false
}

// putSplunkMetadata names the index and source the HEC event goes to.
func putSplunkMetadata(attrs pcommon.Map, splunk SplunkConfig) {
	pdatajson.PutNonEmpty(attrs, "com.splunk.index", splunk.Index)
	pdatajson.PutNonEmpty(attrs, "com.splunk.source", splunk.Source)
}
