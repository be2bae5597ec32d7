// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package policydecisionprocessor

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/policyaudit/policyaudit/internal/ocsf"
	"github.com/policyaudit/policyaudit/internal/record"
)

// A shape writes records the way one destination expects them
// (records.md section 4): where the canonical record goes in the log body,
// and, once the data policy has run, the attributes and the final body.
//
// A shape sees the record only as it leaves the collector: its header (the
// fields no PII rule may touch, record.Header) and the canonical map after
// the policy. The record as it came in, which may still hold a raw user ID,
// key or address, is never handed to a shape.
type shape interface {
	// container is the map the canonical record is written into: the body
	// itself, or a map inside the document the destination indexes.
	container(h *record.Record, body pcommon.Value) pcommon.Map
	// keep is container for a body that already holds the canonical record.
	keep(h *record.Record, body pcommon.Value) pcommon.Map
	// finish writes the attributes, and the body where it is not the
	// canonical record, from the header and the canonical map after the
	// policy; it returns the record's OCSF Detection Finding when it makes one.
	finish(h *record.Record, canonical pcommon.Map, lr plog.LogRecord) (ocsfFinding, bool)
}

// newShape is the shape of cfg's destination.
func newShape(cfg *Config, product ocsf.Product) shape {
	switch cfg.Destination {
	case DestinationElasticsearch:
		return elasticShape{elastic: cfg.Elastic}
	case DestinationSplunkHEC:
		return splunkShape{splunk: cfg.Splunk}
	case DestinationDatadog:
		return datadogShape{datadog: cfg.Datadog}
	case DestinationOCSF:
		s := ocsfShape{product: product, findings: cfg.OCSF.Findings, indexed: otelOCSFIndexed{}}
		if cfg.OCSF.SplunkHEC {
			s.indexed = splunkOCSFIndexed{splunk: cfg.Splunk}
		}
		return s
	default:
		return otelShape{}
	}
}

// inBody puts the canonical record in the body itself.
type inBody struct{}

func (inBody) container(_ *record.Record, body pcommon.Value) pcommon.Map { return body.SetEmptyMap() }
func (inBody) keep(_ *record.Record, body pcommon.Value) pcommon.Map      { return body.Map() }
