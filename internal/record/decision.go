// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package record

import "github.com/policyaudit/policyaudit/internal/jsonbody"

// decision normalises a policy-decision record (records.md section 1).
func (n *normalizer) decision() (*Record, error) {
	r := &Record{Kind: KindDecision}
	n.common(r)

	raw := ""
	if v, id, ok := n.in.first(inDecision); ok {
		s, isText := valueVerdict(v)
		raw = s
		if !isText {
			n.fail(fieldErr("decision", ReasonInvalidType, "%q must be a string, got %s", nameTexts[id], valueTypeName(v)))
		} else if d, known := MapVerdict(s); known {
			r.Decision = d
		} else {
			n.fail(fieldErr("decision", ReasonUnknownVerdict, "unknown verdict %q in %q", s, nameTexts[id]))
		}
	} else {
		n.fail(fieldErr("decision", ReasonMissingField, "missing (accepted: decision, verdict, action, result)"))
	}
	r.DecisionRaw = n.str("decision_raw", inDecisionRaw)
	if r.DecisionRaw == "" && raw != r.Decision {
		r.DecisionRaw = raw
	}

	r.RolloutMode = RolloutEnforced
	if s := n.str("rollout_mode", inRolloutMode); s != "" {
		if m, ok := mapRolloutMode(s); ok {
			r.RolloutMode = m
		} else {
			n.fail(fieldErr("rollout_mode", ReasonInvalidValue, "unknown rollout mode %q (accepted: shadow, canary, enforced)", s))
		}
	}
	r.Enforced = r.RolloutMode == RolloutEnforced
	if v, _, ok := n.in.first(inEnforced); ok {
		if v.Kind != jsonbody.Bool {
			n.fail(fieldErr("enforced", ReasonInvalidType, "must be a boolean, got %s", valueTypeName(v)))
		}
		r.Enforced = v.Bool
	}

	if s := n.str("effective_decision", inEffective); s != "" {
		if d, ok := MapVerdict(s); ok {
			r.EffectiveDecision = d
		} else {
			n.fail(fieldErr("effective_decision", ReasonUnknownVerdict, "unknown verdict %q", s))
		}
	} else if r.RolloutMode == RolloutShadow || !r.Enforced {
		// Not enforced (shadow, or canary outside the cohort): the request went through.
		r.EffectiveDecision = DecisionAllow
	} else {
		r.EffectiveDecision = r.Decision
	}

	r.ReasonCode = UpperSnake(n.str("reason_code", inReasonCode))
	if r.ReasonCode == "" {
		if r.DecisionRaw != "" {
			r.ReasonCode = UpperSnake(r.DecisionRaw)
		} else {
			r.ReasonCode = UpperSnake(r.Decision)
		}
	}

	r.PolicyID = n.str("policy_id", inPolicyID)
	if r.PolicyID == "" {
		if v, ok := n.in.flat(inPolicyBare[0]); ok && v.Kind == jsonbody.String && v.Str != "" {
			r.PolicyID = v.Str
			n.in.markUsed(inPolicyBare[0])
		}
	}
	if r.PolicyID == "" {
		n.fail(fieldErr("policy_id", ReasonMissingField, "missing (accepted: policy_id, policy.id, policy)"))
	}
	r.PolicyVersion = n.str("policy_version", inPolicyVersion)
	if r.PolicyVersion == "" {
		r.PolicyVersion = UnknownPolicyVersion
	}

	r.PolicyUser = n.str("policy_user", inPolicyUser)
	r.APIKeyID = n.str("api_key_id", inAPIKeyID)
	r.ProjectID = n.str("project_id", inProjectID)
	r.PolicyTarget = n.str("policy_target", inPolicyTarget)
	r.Model = n.str("model", inModel)
	r.Provider = n.str("provider", inProvider)
	if s := n.str("stage", inStage); s != "" {
		if st, ok := stages[toLowerASCII(s)]; ok {
			r.Stage = st
		} else {
			n.fail(fieldErr("stage", ReasonInvalidValue, "unknown stage %q (accepted: request, response)", s))
		}
	}

	r.TriggeredCategories = n.list("triggered_categories", inTriggered)
	r.AllowlistHits = n.list("allowlist_hits", inAllowlistHits)
	r.DenylistHits = n.list("denylist_hits", inDenylistHits)
	if n.has(inClassification) {
		r.Classification = n.list("classification", inClassification)
	}
	r.Gateway = n.str("gateway", inGateway)
	r.Usage = n.usage()

	r.Extra = n.extra()
	return r, n.err
}

func (n *normalizer) list(field string, ids []name) []string {
	v, _, _ := n.in.first(ids)
	l, err := valueList(field, v)
	n.fail(err)
	if l == nil {
		return []string{}
	}
	return l
}

func (n *normalizer) has(ids []name) bool {
	for _, id := range ids {
		if _, ok := n.in.lookup(id); ok {
			return true
		}
	}
	return false
}
