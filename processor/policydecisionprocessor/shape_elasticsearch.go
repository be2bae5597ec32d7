// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package policydecisionprocessor

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/policyaudit/policyaudit/internal/record"
)

// serviceName is the service.name of Elastic documents (records.md section 4).
const serviceName = "policy-gateway"

// elasticShape (destination elasticsearch): the Elastic document as the
// body, the canonical record under its "policy" object, and the data stream
// and document ID as attributes (the elasticsearch exporter's bodymap
// mapping and logs_dynamic_id).
type elasticShape struct{ elastic ElasticConfig }

// container writes the document around the canonical record, from the
// header only.
func (s elasticShape) container(h *record.Record, body pcommon.Value) pcommon.Map {
	dataset := s.dataset(h)
	doc := body.SetEmptyMap()
	doc.EnsureCapacity(6)
	doc.PutStr("@timestamp", h.CreatedAtString())
	ds := doc.PutEmptyMap("data_stream")
	ds.PutStr("type", "logs")
	ds.PutStr("dataset", dataset)
	ds.PutStr("namespace", s.elastic.Namespace)
	doc.PutEmptyMap("service").PutStr("name", serviceName)
	ev := doc.PutEmptyMap("event")
	ev.PutStr("dataset", dataset)
	ev.PutStr("action", eventAction(h))
	return doc.PutEmptyMap("policy")
}

// keep moves a canonical body under the document's "policy".
func (s elasticShape) keep(h *record.Record, body pcommon.Value) pcommon.Map {
	canonical := pcommon.NewMap()
	body.Map().MoveTo(canonical)
	policy := s.container(h, body)
	canonical.MoveTo(policy)
	return policy
}

func (s elasticShape) finish(h *record.Record, canonical pcommon.Map, lr plog.LogRecord) (ocsfFinding, bool) {
	attrs := lr.Attributes()
	setOTelAttributes(h, canonical, attrs)
	attrs.PutStr("data_stream.type", "logs")
	attrs.PutStr("data_stream.dataset", s.dataset(h))
	attrs.PutStr("data_stream.namespace", s.elastic.Namespace)
	// logs_dynamic_id: the document _id, so a replay never duplicates.
	attrs.PutStr("elasticsearch.document_id", h.EventID)
	return ocsfFinding{}, false
}

func (s elasticShape) dataset(h *record.Record) string {
	if h.Kind == record.KindAdmin {
		return s.elastic.AdminDataset
	}
	return s.elastic.Dataset
}

// eventAction is the decision of a policy decision and the action of an
// admin event.
func eventAction(h *record.Record) string {
	if h.Kind == record.KindAdmin {
		return h.Action
	}
	return h.Decision
}
