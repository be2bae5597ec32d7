// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package policydecisionprocessor

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/policyaudit/policyaudit/internal/ocsf"
	"github.com/policyaudit/policyaudit/internal/record"
)

// Attributes naming an OCSF event's class and type, for routing (a Splunk
// sourcetype, an index) without reading the body.
const (
	attrOCSFClassUID = "ocsf.class_uid"
	attrOCSFTypeUID  = "ocsf.type_uid"
)

// ocsfShape (destination ocsf): the record's OCSF 1.8.0 event as the body,
// made from the canonical record after the policy, and a Detection Finding
// beside it for an enforced deny or escalation when findings are on. Its
// attributes are another shape's, composed: the OpenTelemetry ones (files,
// S3, Security Lake) or Splunk's indexed fields (ocsf.splunk_hec).
type ocsfShape struct {
	inBody
	product  ocsf.Product
	findings bool
	indexed  ocsfIndexed
}

// ocsfIndexed writes the attributes of an OCSF event of a class and type.
type ocsfIndexed interface {
	event(h *record.Record, canonical pcommon.Map, attrs pcommon.Map, class, typeUID int64)
	// finding rewrites a copy of the event's attributes for its finding.
	finding(attrs pcommon.Map, class, typeUID int64)
}

// ocsfFinding is a record's Detection Finding, written beside its event.
type ocsfFinding struct {
	body           pcommon.Map
	class, typeUID int64
	indexed        ocsfIndexed
}

func (s ocsfShape) finish(h *record.Record, canonical pcommon.Map, lr plog.LogRecord) (ocsfFinding, bool) {
	ev := pcommon.NewMap()
	class, typeUID := ocsf.Event(h, canonical, s.product, ev)
	finding := ocsfFinding{indexed: s.indexed}
	wants := s.findings && ocsf.WantsFinding(h)
	if wants {
		finding.body = pcommon.NewMap()
		finding.class, finding.typeUID = ocsf.Finding(h, canonical, s.product, finding.body)
	}
	s.indexed.event(h, canonical, lr.Attributes(), class, typeUID)
	ev.MoveTo(lr.Body().SetEmptyMap())
	return finding, wants
}

// putOCSFClass names an event's class and type.
func putOCSFClass(attrs pcommon.Map, class, typeUID int64) {
	attrs.PutInt(attrOCSFClassUID, class)
	attrs.PutInt(attrOCSFTypeUID, typeUID)
}

// otelOCSFIndexed: the OpenTelemetry attributes, and the class and type.
type otelOCSFIndexed struct{}

func (otelOCSFIndexed) event(h *record.Record, canonical pcommon.Map, attrs pcommon.Map, class, typeUID int64) {
	setOTelAttributes(h, canonical, attrs)
	putOCSFClass(attrs, class, typeUID)
}

func (otelOCSFIndexed) finding(attrs pcommon.Map, class, typeUID int64) {
	putOCSFClass(attrs, class, typeUID)
}

// splunkOCSFIndexed: for the splunk_hec exporter, where every attribute is
// an indexed field, only the class and type and the com.splunk.* metadata,
// with the sourcetype ocsf:<class> that Splunk's OCSF-CIM add-on reads.
type splunkOCSFIndexed struct{ splunk SplunkConfig }

func (s splunkOCSFIndexed) event(_ *record.Record, _ pcommon.Map, attrs pcommon.Map, class, typeUID int64) {
	s.finding(attrs, class, typeUID)
}

func (s splunkOCSFIndexed) finding(attrs pcommon.Map, class, typeUID int64) {
	attrs.Clear()
	attrs.PutStr("com.splunk.sourcetype", "ocsf:"+ocsf.ClassName(class))
	putSplunkMetadata(attrs, s.splunk)
	putOCSFClass(attrs, class, typeUID)
}
