package policydecisionprocessor

import (
	"slices"
	"strings"
	"sync"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/policyaudit/policyaudit/internal/pdatajson"
	"github.com/policyaudit/policyaudit/internal/record"
)

// serviceName is the service.name of Elastic documents (records.md section 4).
const serviceName = "policy-gateway"

// body prepares the log body for the destination and returns the map the
// canonical record goes into: the body itself, or the Elastic document's
// "policy" object.
func (p *policyProcessor) body(rec *record.Record, body pcommon.Value) pcommon.Map {
	if p.cfg.Destination != DestinationElasticsearch {
		return body.SetEmptyMap()
	}
	dataset := p.dataset(rec)
	doc := body.SetEmptyMap()
	doc.EnsureCapacity(6)
	doc.PutStr("@timestamp", rec.CreatedAtString())
	ds := doc.PutEmptyMap("data_stream")
	ds.PutStr("type", "logs")
	ds.PutStr("dataset", dataset)
	ds.PutStr("namespace", p.cfg.Elastic.Namespace)
	doc.PutEmptyMap("service").PutStr("name", serviceName)
	ev := doc.PutEmptyMap("event")
	ev.PutStr("dataset", dataset)
	ev.PutStr("action", eventAction(rec))
	return doc.PutEmptyMap("policy")
}

// keepBody is body for a body that already holds the canonical record: kept
// as it is, or moved under the Elastic document's "policy".
func (p *policyProcessor) keepBody(rec *record.Record, body pcommon.Value) pcommon.Map {
	if p.cfg.Destination != DestinationElasticsearch {
		return body.Map()
	}
	canonical := pcommon.NewMap()
	body.Map().MoveTo(canonical)
	policy := p.body(rec, body)
	canonical.MoveTo(policy)
	return policy
}

func (p *policyProcessor) dataset(rec *record.Record) string {
	if rec.Kind == record.KindAdmin {
		return p.cfg.Elastic.AdminDataset
	}
	return p.cfg.Elastic.Dataset
}

// eventAction is the decision of a policy decision and the action of an
// admin event.
func eventAction(rec *record.Record) string {
	if rec.Kind == record.KindAdmin {
		return rec.Action
	}
	return rec.Decision
}

// setAttributes sets what the destination routes and indexes on (records.md
// sections 3 and 4). Values the data policy may have changed (the user) are
// read from the canonical map, so no raw PII reaches an attribute.
func (p *policyProcessor) setAttributes(rec *record.Record, canonical pcommon.Map, attrs pcommon.Map) {
	switch p.cfg.Destination {
	case DestinationSplunkHEC:
		p.setSplunkFields(rec, attrs)
	case DestinationDatadog:
		p.setDatadogAttributes(rec, canonical, attrs)
	case DestinationElasticsearch:
		setOTelAttributes(rec, canonical, attrs)
		attrs.PutStr("data_stream.type", "logs")
		attrs.PutStr("data_stream.dataset", p.dataset(rec))
		attrs.PutStr("data_stream.namespace", p.cfg.Elastic.Namespace)
		// logs_dynamic_id: the document _id, so a replay never duplicates.
		attrs.PutStr("elasticsearch.document_id", rec.EventID)
	case DestinationOCSF:
		// For splunk_hec, setOCSFClass keeps only the class and Splunk's
		// metadata: the OTel attributes would be indexed fields.
		if !p.cfg.OCSF.SplunkHEC {
			setOTelAttributes(rec, canonical, attrs)
		}
	default:
		setOTelAttributes(rec, canonical, attrs)
	}
}

// setOTelAttributes sets the log attributes of records.md section 3.
func setOTelAttributes(rec *record.Record, canonical pcommon.Map, attrs pcommon.Map) {
	attrs.EnsureCapacity(attrs.Len() + 10)
	pdatajson.PutNonEmpty(attrs, "policy.id", rec.PolicyID)
	pdatajson.PutNonEmpty(attrs, "policy.version", rec.PolicyVersion)
	if rec.Kind == record.KindAdmin {
		attrs.PutStr("admin.action", rec.Action)
		attrs.PutStr("admin.outcome", rec.Outcome)
		pdatajson.PutNonEmpty(attrs, "user.id", pdatajson.StringAt(canonical, record.FieldActor, record.SubfieldID))
	} else {
		attrs.PutStr("policy.decision", rec.Decision)
		attrs.PutStr("policy.effective_decision", rec.EffectiveDecision)
		attrs.PutStr("policy.rollout_mode", rec.RolloutMode)
		pdatajson.PutNonEmpty(attrs, "user.id", pdatajson.StringAt(canonical, record.FieldPolicyUser))
		pdatajson.PutNonEmpty(attrs, "gen_ai.request.model", pdatajson.StringAt(canonical, record.FieldModel))
	}
	attrs.PutStr("correlation.id", rec.CorrelationID)
	// From the canonical map, after the data policy: the error text quotes
	// the input, which may hold a key.
	if e := pdatajson.StringAt(canonical, record.FieldSchemaError); e != "" {
		attrs.PutStr("policyaudit.schema_error", e)
	}
}

// setSplunkFields replaces the attributes with the HEC indexed fields and the
// com.splunk.* metadata: splunk_hec makes every log attribute an indexed
// field, and indexed fields cost licence and index size, so only what
// searches filter on (decision, policy, correlation) is indexed; the rest is
// in the event.
func (p *policyProcessor) setSplunkFields(rec *record.Record, attrs pcommon.Map) {
	attrs.Clear()
	attrs.EnsureCapacity(8)
	if rec.Kind == record.KindAdmin {
		attrs.PutStr(record.FieldAction, rec.Action)
		attrs.PutStr(record.FieldOutcome, rec.Outcome)
		attrs.PutStr("com.splunk.sourcetype", p.cfg.Splunk.AdminSourcetype)
	} else {
		attrs.PutStr(record.FieldDecision, rec.Decision)
		attrs.PutStr("com.splunk.sourcetype", p.cfg.Splunk.Sourcetype)
	}
	pdatajson.PutNonEmpty(attrs, record.FieldPolicyID, rec.PolicyID)
	pdatajson.PutNonEmpty(attrs, record.FieldPolicyVersion, rec.PolicyVersion)
	attrs.PutStr(record.FieldCorrelationID, rec.CorrelationID)
	pdatajson.PutNonEmpty(attrs, "com.splunk.index", p.cfg.Splunk.Index)
	pdatajson.PutNonEmpty(attrs, "com.splunk.source", p.cfg.Splunk.Source)
}

// setDatadogAttributes gives the Datadog exporter the canonical fields as log
// attributes, and the keys its logs pipeline reads the source
// (datadog.log.source), the service (service.name) and the tags (ddtags) from.
func (p *policyProcessor) setDatadogAttributes(rec *record.Record, canonical pcommon.Map, attrs pcommon.Map) {
	fitDatadogLog(canonical)
	attrs.EnsureCapacity(attrs.Len() + canonical.Len() + 3)
	for k, v := range canonical.All() {
		v.CopyTo(attrs.PutEmpty(k))
	}
	attrs.PutStr("datadog.log.source", p.cfg.Datadog.Source)
	attrs.PutStr("service.name", p.cfg.Datadog.Service)
	attrs.PutStr("ddtags", ddtags(rec))
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
func ddtags(rec *record.Record) string {
	var b strings.Builder
	if rec.Kind == record.KindAdmin {
		tag(&b, record.FieldAction, rec.Action)
		tag(&b, record.FieldOutcome, rec.Outcome)
		if rec.PolicyID != "" {
			tag(&b, record.FieldPolicyID, rec.PolicyID)
		}
		return b.String()
	}
	tag(&b, record.FieldDecision, rec.Decision)
	tag(&b, record.FieldPolicyID, rec.PolicyID)
	tag(&b, record.FieldRolloutMode, rec.RolloutMode)
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
