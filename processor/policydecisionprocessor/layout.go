package policydecisionprocessor

import (
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/policyaudit/policyaudit/internal/pdatajson"
	"github.com/policyaudit/policyaudit/internal/record"
)

// serviceName is the service.name of Elastic documents (records.md section 4).
const serviceName = "policy-gateway"

// body prepares the log body for the configured layout and returns the map
// the canonical record goes into: the body itself (flat), or the document's
// "policy" object (elastic).
func (p *policyProcessor) body(rec *record.Record, body pcommon.Value) pcommon.Map {
	if p.cfg.Layout != LayoutElastic {
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

// setAttributes sets what destinations route and index on (records.md
// section 3). Values that the data policy may have changed (the user) are read
// back from the canonical map, so no raw PII reaches an attribute.
func (p *policyProcessor) setAttributes(rec *record.Record, canonical pcommon.Map, attrs pcommon.Map) {
	attrs.EnsureCapacity(attrs.Len() + 16)
	putIf(attrs, "policy.id", rec.PolicyID)
	putIf(attrs, "policy.version", rec.PolicyVersion)
	if rec.Kind == record.KindAdmin {
		attrs.PutStr("admin.action", rec.Action)
		attrs.PutStr("admin.outcome", rec.Outcome)
		putIf(attrs, "user.id", pdatajson.StringAt(canonical, "actor", "id"))
	} else {
		attrs.PutStr("policy.decision", rec.Decision)
		attrs.PutStr("policy.effective_decision", rec.EffectiveDecision)
		attrs.PutStr("policy.rollout_mode", rec.RolloutMode)
		putIf(attrs, "user.id", pdatajson.StringAt(canonical, "policy_user"))
		putIf(attrs, "gen_ai.request.model", pdatajson.StringAt(canonical, "model"))
	}
	attrs.PutStr("correlation.id", rec.CorrelationID)
	if rec.SchemaError != "" {
		attrs.PutStr("policyaudit.schema_error", rec.SchemaError)
	}

	if p.cfg.Elastic.Enabled {
		attrs.PutStr("data_stream.type", "logs")
		attrs.PutStr("data_stream.dataset", p.dataset(rec))
		attrs.PutStr("data_stream.namespace", p.cfg.Elastic.Namespace)
		attrs.PutStr("elasticsearch.document_id", rec.EventID)
	}
	if p.cfg.Splunk.Enabled {
		if rec.Kind == record.KindAdmin {
			attrs.PutStr("com.splunk.sourcetype", p.cfg.Splunk.AdminSourcetype)
		} else {
			attrs.PutStr("com.splunk.sourcetype", p.cfg.Splunk.Sourcetype)
		}
		putIf(attrs, "com.splunk.index", p.cfg.Splunk.Index)
		putIf(attrs, "com.splunk.source", p.cfg.Splunk.Source)
	}
	if p.cfg.Datadog.Enabled {
		attrs.PutStr("ddsource", p.cfg.Datadog.Source)
		attrs.PutStr("service", p.cfg.Datadog.Service)
		attrs.PutStr("ddtags", ddtags(rec))
	}
}

// ddtags are the Datadog tags of records.md section 4: decision, policy_id
// and rollout_mode for decisions; action and outcome for admin events.
func ddtags(rec *record.Record) string {
	var b strings.Builder
	if rec.Kind == record.KindAdmin {
		b.WriteString("action:" + rec.Action + ",outcome:" + rec.Outcome)
		if rec.PolicyID != "" {
			b.WriteString(",policy_id:" + rec.PolicyID)
		}
		return b.String()
	}
	b.WriteString("decision:" + rec.Decision + ",policy_id:" + rec.PolicyID + ",rollout_mode:" + rec.RolloutMode)
	return b.String()
}

func putIf(m pcommon.Map, k, v string) {
	if v != "" {
		m.PutStr(k, v)
	}
}
