// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package record

import (
	"strings"
	"unicode"

	"github.com/policyaudit/policyaudit/internal/jsonbody"
)

// Canonical decisions.
const (
	DecisionAllow    = "allow"
	DecisionDeny     = "deny"
	DecisionModify   = "modify"
	DecisionRedact   = "redact"
	DecisionEscalate = "escalate"
)

// verdicts maps the vendor words of the contract (lower-cased) to decisions.
// "false" is not in the contract's table; it is the deny of boolean OPA
// policies (`allow := false`), as "true" is their allow.
var verdicts = map[string]string{
	"allow": DecisionAllow, "pass": DecisionAllow, "permit": DecisionAllow, "allowed": DecisionAllow, "true": DecisionAllow,
	"deny": DecisionDeny, "refuse": DecisionDeny, "block": DecisionDeny, "reject": DecisionDeny, "denied": DecisionDeny, "false": DecisionDeny,
	"modify": DecisionModify, "rewrite": DecisionModify,
	"redact": DecisionRedact, "mask": DecisionRedact,
	"escalate": DecisionEscalate, "review": DecisionEscalate, "flag": DecisionEscalate,
}

// MapVerdict maps a vendor verdict to a canonical decision, case-insensitively.
func MapVerdict(raw string) (string, bool) {
	if d, ok := verdicts[raw]; ok {
		return d, true
	}
	d, ok := verdicts[strings.ToLower(strings.TrimSpace(raw))]
	return d, ok
}

// Rollout modes.
const (
	RolloutShadow   = "shadow"
	RolloutCanary   = "canary"
	RolloutEnforced = "enforced"
)

var rolloutModes = map[string]string{
	"shadow": RolloutShadow, "canary": RolloutCanary,
	"enforced": RolloutEnforced, "enforce": RolloutEnforced,
}

func mapRolloutMode(raw string) (string, bool) {
	m, ok := rolloutModes[strings.ToLower(strings.TrimSpace(raw))]
	return m, ok
}

var stages = map[string]string{"request": "request", "response": "response"}

// valueVerdict renders a verdict input: strings and numbers as given,
// booleans as "true"/"false" (OPA boolean results).
func valueVerdict(v *jsonbody.Value) (string, bool) {
	if v.Kind == jsonbody.Bool {
		if v.Bool {
			return "true", true
		}
		return "false", true
	}
	return valueString(v)
}

// UpperSnake turns a reason into upper snake case: "prompt_injection detected"
// and "Prompt-Injection-Detected" both become "PROMPT_INJECTION_DETECTED".
func UpperSnake(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	pendingSep := false
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if pendingSep && b.Len() > 0 {
				b.WriteByte('_')
			}
			pendingSep = false
			b.WriteRune(unicode.ToUpper(r))
			continue
		}
		pendingSep = true
	}
	return b.String()
}
