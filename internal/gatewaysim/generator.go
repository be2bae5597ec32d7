// Package gatewaysim generates realistic LLM gateway traffic in each dialect
// the record contract names (flat gateway decisions, router verdicts, admin
// audit events, OPA decision logs) and sends it to a collector: the load of
// the gateway simulator (cmd/gatewaysim), `make demo` and `make bench`.
package gatewaysim

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"
)

// Dialect is an input format of the record contract.
type Dialect int

// The dialects, in the shares a gateway fleet typically sends them.
const (
	Flat   Dialect = iota // the flat gateway dialect: /v1/decisions
	Router                // router verdicts (verdict, policy{}, caller{}): /v1/decisions
	OPA                   // OPA decision logs: /v1/opa/logs
	Admin                 // admin audit events: /v1/audit
)

func (d Dialect) String() string {
	return [...]string{"flat", "router", "opa", "admin"}[d]
}

var (
	projects   = []string{"support-bot", "crm-assistant", "legal-research", "code-helper", "sales-copilot"}
	models     = []string{"gpt-4.1", "gpt-4o-mini", "claude-sonnet", "claude-haiku", "llama-3.1-70b"}
	categories = []string{"jailbreak", "prompt-injection", "pii/email", "pii/phone", "self-harm/intent", "export-controlled", "toxicity"}
	policies   = []string{"prompt-injection", "pii-shield", "jailbreak-filter", "cost-router", "export-controls"}
	// Vendor words per canonical verdict, as the dialects spell them.
	flatVerdicts   = [][]string{{"allow", "pass"}, {"deny", "block"}, {"mask", "redact"}, {"rewrite", "modify"}, {"escalate", "review"}}
	routerVerdicts = [][]string{{"allow", "Allow"}, {"deny", "Block"}, {"redact"}, {"modify", "Rewrite"}, {"escalate", "Review"}}
	reasons        = []string{"ALLOW", "BLOCKED", "PII_DETECTED", "REROUTED", "HUMAN_REVIEW"}
	adminActions   = []string{"policy.update", "key.revoke", "model.enable", "guardrail.edit", "key.create"}
)

// Generator produces records whose timestamps advance evenly over a span of
// simulated time: an hour of a gateway's traffic can be sent in seconds, and
// policy versions change as the day goes on (one version per six hours).
type Generator struct {
	rng   *rand.Rand
	start time.Time
	step  time.Duration
	n     int
}

// NewGenerator spreads total records over span from start; seed makes the
// stream reproducible.
func NewGenerator(seed uint64, start time.Time, span time.Duration, total int) *Generator {
	step := span
	if total > 0 {
		step = span / time.Duration(total)
	}
	return &Generator{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), start: start.UTC(), step: step}
}

// Dialect picks the next record's dialect: half flat, 30 % router, 19 % OPA,
// 1 % admin events.
func (g *Generator) Dialect() Dialect {
	switch p := g.rng.IntN(100); {
	case p < 50:
		return Flat
	case p < 80:
		return Router
	case p < 99:
		return OPA
	default:
		return Admin
	}
}

// verdict picks a canonical verdict index: 80 % allow, 8 % deny, 6 %
// redact, 4 % modify, 2 % escalate.
func (g *Generator) verdict() int {
	switch p := g.rng.IntN(100); {
	case p < 80:
		return 0
	case p < 88:
		return 1
	case p < 94:
		return 2
	case p < 98:
		return 3
	default:
		return 4
	}
}

func (g *Generator) pick(list []string) string { return list[g.rng.IntN(len(list))] }

// next advances simulated time and returns the record's time and sequence.
func (g *Generator) next() (time.Time, int) {
	g.n++
	return g.start.Add(time.Duration(g.n-1) * g.step), g.n
}

func policyVersion(t time.Time) string {
	return t.Format("2006-01-02") + "." + strconv.Itoa(t.Hour()/6+1)
}

// rollout: 85 % enforced, 10 % shadow, 5 % canary (half of it in the cohort).
func (g *Generator) rollout() (mode string, enforced bool) {
	switch p := g.rng.IntN(100); {
	case p < 85:
		return "enforced", true
	case p < 95:
		return "shadow", false
	default:
		return "canary", g.rng.IntN(2) == 0
	}
}

// Append appends one record of dialect d as a JSON object (no newline).
func (g *Generator) Append(buf []byte, d Dialect) []byte {
	t, n := g.next()
	user := "user-" + strconv.Itoa(g.rng.IntN(500))
	project, model, policy := g.pick(projects), g.pick(models), g.pick(policies)
	v := g.verdict()
	mode, enforced := g.rollout()
	cats := "[]"
	if v != 0 {
		cats = `["` + g.pick(categories) + `"]`
	}
	switch d {
	case Router:
		return fmt.Appendf(buf, `{"correlation_id":"sim-%08d","timestamp":"%s","verdict":%q,"policy":{"id":%q,"version":%q},"caller":{"api_key_id":"key_live_%02d","user":%q},"model":%q,"stage":"request","reason":%q,"rollout_mode":%q,"enforced":%t,"triggered_categories":%s}`,
			n, t.Format("2006-01-02T15:04:05.000Z"), g.pick(routerVerdicts[v]), policy, policyVersion(t), g.rng.IntN(40), user, model, reasons[v], mode, enforced, cats)
	case OPA:
		return fmt.Appendf(buf, `{"labels":{"app":"llm-gateway","version":"1.4.0"},"decision_id":"00000000-0000-4000-8000-%012d","bundles":{"guardrails":{"revision":"r%s"}},"path":"llm/guardrails/decision","input":{"user":%q,"project":%q,"model":%q},"result":{"decision":%q,"reason_code":%q,"policy_id":%q,"triggered_categories":%s},"timestamp":"%s"}`,
			n, policyVersion(t), user, project, model, flatVerdicts[v][0], reasons[v], policy, cats, t.Format(time.RFC3339Nano))
	case Admin:
		action := g.pick(adminActions)
		return fmt.Appendf(buf, `{"created_at":"%s","request_id":"adm-%08d","actor":{"id":"admin-%d@example.com","type":"user"},"action":%q,"resource":{"type":"policy","id":%q},"outcome":"success","details":{"to_version":%q},"policy_id":%q,"policy_version":%q}`,
			t.Format(time.RFC3339), n, g.rng.IntN(5), action, policy, policyVersion(t), policy, policyVersion(t))
	default:
		return fmt.Appendf(buf, `{"request_id":"sim-%08d","policy_id":%q,"policy_version":%q,"decision":%q,"reason_code":%q,"policy_user":%q,"project_id":%q,"rollout_mode":%q,"enforced":%t,"triggered_categories":%s,"model":%q,"created_at":"%s"}`,
			n, policy, policyVersion(t), g.pick(flatVerdicts[v]), reasons[v], user, project, mode, enforced, cats, model, t.Format("2006-01-02T15:04:05.000Z"))
	}
}
