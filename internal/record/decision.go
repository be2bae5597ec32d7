package record

// decision normalises a policy-decision record (records.md section 1).
func (n *normalizer) decision() (*Record, error) {
	r := &Record{Kind: KindDecision}
	n.common(r)

	raw := ""
	if v, name, ok := n.in.first("decision", "verdict", "action", "result"); ok {
		s, isText := verdictString(v)
		raw = s
		if !isText {
			n.fail(fieldErr("decision", ReasonInvalidType, "%q must be a string, got %s", name, typeName(v)))
		} else if d, known := MapVerdict(s); known {
			r.Decision = d
		} else {
			n.fail(fieldErr("decision", ReasonUnknownVerdict, "unknown verdict %q in %q", s, name))
		}
	} else {
		n.fail(fieldErr("decision", ReasonMissingField, "missing (accepted: decision, verdict, action, result)"))
	}
	r.DecisionRaw = n.str("decision_raw", "decision_raw")
	if r.DecisionRaw == "" && raw != r.Decision {
		r.DecisionRaw = raw
	}

	r.RolloutMode = RolloutEnforced
	if s := n.str("rollout_mode", "rollout_mode", "mode"); s != "" {
		if m, ok := mapRolloutMode(s); ok {
			r.RolloutMode = m
		} else {
			n.fail(fieldErr("rollout_mode", ReasonInvalidValue, "unknown rollout mode %q (accepted: shadow, canary, enforced)", s))
		}
	}
	r.Enforced = r.RolloutMode == RolloutEnforced
	if v, _, ok := n.in.first("enforced"); ok {
		b, isBool := v.(bool)
		if !isBool {
			n.fail(fieldErr("enforced", ReasonInvalidType, "must be a boolean, got %s", typeName(v)))
		}
		r.Enforced = b
	}

	if s := n.str("effective_decision", "effective_decision"); s != "" {
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

	r.ReasonCode = UpperSnake(n.str("reason_code", "reason_code", "reason"))
	if r.ReasonCode == "" {
		if r.DecisionRaw != "" {
			r.ReasonCode = UpperSnake(r.DecisionRaw)
		} else {
			r.ReasonCode = UpperSnake(r.Decision)
		}
	}

	r.PolicyID = n.str("policy_id", "policy_id", "policy.id")
	if r.PolicyID == "" {
		if s, ok := n.in.m["policy"].(string); ok && s != "" {
			r.PolicyID = s
			n.in.markUsed("policy")
		}
	}
	if r.PolicyID == "" {
		n.fail(fieldErr("policy_id", ReasonMissingField, "missing (accepted: policy_id, policy.id, policy)"))
	}
	r.PolicyVersion = n.str("policy_version", "policy_version", "policy.version", "revision")
	if r.PolicyVersion == "" {
		r.PolicyVersion = UnknownPolicyVersion
	}

	r.PolicyUser = n.str("policy_user", "policy_user", "user", "user_id", "caller.user")
	r.APIKeyID = n.str("api_key_id", "api_key_id", "key_id", "caller.api_key_id")
	r.ProjectID = n.str("project_id", "project_id", "policy_project_id", "project")
	r.PolicyTarget = n.str("policy_target", "policy_target", "target")
	r.Model = n.str("model", "model", "gen_ai.request.model")
	r.Provider = n.str("provider", "provider", "gen_ai.provider.name")
	if s := n.str("stage", "stage", "phase"); s != "" {
		if st, ok := stages[toLowerASCII(s)]; ok {
			r.Stage = st
		} else {
			n.fail(fieldErr("stage", ReasonInvalidValue, "unknown stage %q (accepted: request, response)", s))
		}
	}

	r.TriggeredCategories = n.list("triggered_categories", "triggered_categories")
	r.AllowlistHits = n.list("allowlist_hits", "allowlist_hits")
	r.DenylistHits = n.list("denylist_hits", "denylist_hits")
	if _, _, ok := n.in.lookup("classification"); ok || n.has("data_classification", "tags") {
		r.Classification = n.list("classification", "classification", "data_classification", "tags")
	}
	r.Gateway = n.str("gateway", "gateway", "service.name")

	r.Extra = n.extra()
	return r, n.err
}

func (n *normalizer) list(field string, names ...string) []string {
	v, _, _ := n.in.first(names...)
	l, err := stringList(field, v)
	n.fail(err)
	if l == nil {
		return []string{}
	}
	return l
}

func (n *normalizer) has(names ...string) bool {
	for _, name := range names {
		if _, _, ok := n.in.lookup(name); ok {
			return true
		}
	}
	return false
}
