// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package policydecisionprocessor

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/policyaudit/policyaudit/internal/pdatajson"
	"github.com/policyaudit/policyaudit/internal/record"
)

// otelShape (destination otlp): the canonical record as the body and the
// OpenTelemetry attributes of records.md section 3, for files, S3, OTLP and
// the audit store.
type otelShape struct{ inBody }

func (otelShape) finish(h *record.Record, canonical pcommon.Map, lr plog.LogRecord) (ocsfFinding, bool) {
	setOTelAttributes(h, canonical, lr.Attributes())
	return ocsfFinding{}, false
}

// setOTelAttributes sets the log attributes of records.md section 3. What
// the data policy may have changed (the user, the actor, the model, the
// schema error that quotes the input) comes from the canonical map.
func setOTelAttributes(h *record.Record, canonical pcommon.Map, attrs pcommon.Map) {
	attrs.EnsureCapacity(attrs.Len() + 10)
	pdatajson.PutNonEmpty(attrs, "policy.id", h.PolicyID)
	pdatajson.PutNonEmpty(attrs, "policy.version", h.PolicyVersion)
	if h.Kind == record.KindAdmin {
		attrs.PutStr("admin.action", h.Action)
		attrs.PutStr("admin.outcome", h.Outcome)
		pdatajson.PutNonEmpty(attrs, "user.id", pdatajson.StringAt(canonical, record.FieldActor, record.SubfieldID))
	} else {
		attrs.PutStr("policy.decision", h.Decision)
		attrs.PutStr("policy.effective_decision", h.EffectiveDecision)
		attrs.PutStr("policy.rollout_mode", h.RolloutMode)
		pdatajson.PutNonEmpty(attrs, "user.id", pdatajson.StringAt(canonical, record.FieldPolicyUser))
		pdatajson.PutNonEmpty(attrs, "gen_ai.request.model", pdatajson.StringAt(canonical, record.FieldModel))
	}
	attrs.PutStr("correlation.id", h.CorrelationID)
	if e := pdatajson.StringAt(canonical, record.FieldSchemaError); e != "" {
		attrs.PutStr("policyaudit.schema_error", e)
	}
}
