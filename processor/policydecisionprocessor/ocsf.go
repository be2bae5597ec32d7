package policydecisionprocessor

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/policyaudit/policyaudit/internal/ocsf"
	"github.com/policyaudit/policyaudit/internal/pdatajson"
	"github.com/policyaudit/policyaudit/internal/record"
)

// Attributes naming an OCSF event's class and type, for routing (a Splunk
// sourcetype, an index) without reading the body.
const (
	attrOCSFClassUID = "ocsf.class_uid"
	attrOCSFTypeUID  = "ocsf.type_uid"
)

// ocsfFinding is a record's Detection Finding, written beside its event.
type ocsfFinding struct {
	body           pcommon.Map
	class, typeUID int64
}

// writeOCSF replaces lr's body, the canonical record after the data policy,
// with its OCSF event, and returns the record's Detection Finding when
// findings are on and it makes one.
func (p *policyProcessor) writeOCSF(rec *record.Record, canonical pcommon.Map, lr plog.LogRecord) (ocsfFinding, bool) {
	ev := pcommon.NewMap()
	class, typeUID := ocsf.Event(rec, canonical, p.product, ev)
	var finding ocsfFinding
	wants := p.cfg.OCSF.Findings && ocsf.WantsFinding(rec)
	if wants {
		finding.body = pcommon.NewMap()
		finding.class, finding.typeUID = ocsf.Finding(rec, canonical, p.product, finding.body)
	}
	ev.MoveTo(lr.Body().SetEmptyMap())
	p.setOCSFClass(lr.Attributes(), class, typeUID)
	return finding, wants
}

// setOCSFClass names the event's class and type in its attributes; for
// splunk_hec, where every attribute is an indexed field, only those and the
// com.splunk.* metadata.
func (p *policyProcessor) setOCSFClass(attrs pcommon.Map, class, typeUID int64) {
	if p.cfg.OCSF.SplunkHEC {
		attrs.Clear()
		attrs.PutStr("com.splunk.sourcetype", "ocsf:"+ocsf.ClassName(class))
		pdatajson.PutNonEmpty(attrs, "com.splunk.index", p.cfg.Splunk.Index)
		pdatajson.PutNonEmpty(attrs, "com.splunk.source", p.cfg.Splunk.Source)
	}
	attrs.PutInt(attrOCSFClassUID, class)
	attrs.PutInt(attrOCSFTypeUID, typeUID)
}
