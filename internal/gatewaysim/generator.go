// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

// Package gatewaysim generates realistic LLM gateway traffic in each dialect
// the record contract names (flat gateway decisions, router verdicts, admin
// audit events, OPA decision logs) and sends it to a collector: the load of
// the gateway simulator (cmd/gatewaysim), `make demo` and `make bench`.
package gatewaysim // import "github.com/policyaudit/policyaudit/internal/gatewaysim"
import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
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
	span  time.Duration
	// The story (Edit): whether one is told and its edit was sent, and
	// its admin events still to send, oldest first.
	edit   editState
	script []scripted
}

// scripted is an admin event of the story, sent alone at its time.
type scripted struct {
	at   time.Time
	edit bool // the policy edit; else a key or model change
}

type editState int

const (
	noEdit editState = iota
	editPending
	editSent
)

// EditedPolicy is the policy the scripted edit tightens.
const EditedPolicy = "prompt-injection"

// EditActor is the administrator who makes the scripted edit.
const EditActor = "dana@example.com"

// Edit scripts the question the product exists for: at start+at an
// administrator tightens EditedPolicy (one policy.update admin event); from
// then on that policy's decisions carry the new version and deny about five
// times as often. The span's other admin events become four key and model
// changes at its eighths (1, 3, 5, 7), each sent alone like the edit, so the
// edit is the span's one policy change and the admin events read as a
// day's do, not as a batch of hundreds.
func (g *Generator) Edit(at time.Duration) {
	g.edit = editPending
	g.script = []scripted{{at: g.start.Add(at), edit: true}}
	for _, eighth := range []time.Duration{1, 3, 5, 7} {
		g.script = append(g.script, scripted{at: g.start.Add(g.span * eighth / 8)})
	}
	slices.SortStableFunc(g.script, func(a, b scripted) int { return a.at.Compare(b.at) })
}

// ScriptedDue reports that the next record is an admin event of the story.
func (g *Generator) ScriptedDue() bool {
	return g.BeforeScripted() == 0
}

// BeforeScripted is how many records come before the story's next admin
// event (-1: none is left), so a request can end there and the event is
// sent at its own time.
func (g *Generator) BeforeScripted() int {
	if len(g.script) == 0 {
		return -1
	}
	at := int(math.Ceil(float64(g.script[0].at.Sub(g.start)) / float64(g.step)))
	return max(at-g.n, 0)
}

// AppendScripted appends the story's next admin event.
func (g *Generator) AppendScripted(buf []byte) []byte {
	next := g.script[0]
	g.script = g.script[1:]
	if !next.edit {
		t, n := g.next()
		return g.appendQuietAdmin(buf, t, n)
	}
	t, n := g.next()
	g.edit = editSent
	from := policyVersion(t)
	return fmt.Appendf(buf, `{"created_at":"%s","request_id":"adm-%08d","actor":{"id":%q,"type":"user"},"action":"policy.update","resource":{"type":"policy","id":%q,"name":"Prompt injection guard"},"outcome":"success","details":{"from_version":%q,"to_version":%q,"change":"injection score threshold 0.80 to 0.50"},"policy_id":%q,"policy_version":%q}`,
		t.Format("2006-01-02T15:04:05.000Z"), n, EditActor, EditedPolicy, from, g.versionOf(EditedPolicy, t), EditedPolicy, g.versionOf(EditedPolicy, t))
}

// edited reports that policy's decisions now run under the scripted edit.
func (g *Generator) edited(policy string) bool {
	return g.edit == editSent && policy == EditedPolicy
}

// versionOf is a policy's version at t: the version of the day's quarter,
// with a second revision once the scripted edit changed it.
func (g *Generator) versionOf(policy string, t time.Time) string {
	if g.edited(policy) {
		return policyVersion(t) + "-r2"
	}
	return policyVersion(t)
}

// NewGenerator spreads total records over span from start; seed makes the
// stream reproducible.
func NewGenerator(seed uint64, start time.Time, span time.Duration, total int) *Generator {
	step := span
	if total > 0 {
		step = span / time.Duration(total)
	}
	return &Generator{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), start: start.UTC(), step: step, span: span}
}

// Dialect picks the next record's dialect: half flat, 30 % router, 19 % OPA,
// 1 % admin events.
func (g *Generator) Dialect() Dialect {
	switch p := g.rng.IntN(100); {
	case p < 50:
		return Flat
	case p < 80:
		return Router
	case p < 99 || g.edit != noEdit: // a story sends its admin events alone (Edit)
		return OPA
	default:
		return Admin
	}
}

// verdict picks a canonical verdict index: 80 % allow, 8 % deny, 6 %
// redact, 4 % modify, 2 % escalate.
func (g *Generator) verdict(policy string) int {
	if g.edited(policy) {
		// Tightened: 50 % allow, 38 % deny, 6 % redact, 3 % modify, 3 % escalate.
		switch p := g.rng.IntN(100); {
		case p < 50:
			return 0
		case p < 88:
			return 1
		case p < 94:
			return 2
		case p < 97:
			return 3
		default:
			return 4
		}
	}
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
	v := g.verdict(policy)
	version := g.versionOf(policy, t)
	mode, enforced := g.rollout()
	cats := "[]"
	if v != 0 {
		cats = `["` + g.pick(categories) + `"]`
	}
	switch d {
	case Router:
		return fmt.Appendf(buf, `{"correlation_id":"sim-%08d","timestamp":"%s","verdict":%q,"policy":{"id":%q,"version":%q},"caller":{"api_key_id":"key_live_%02d","user":%q},"model":%q,"stage":"request","reason":%q,"rollout_mode":%q,"enforced":%t,"triggered_categories":%s}`,
			n, t.Format("2006-01-02T15:04:05.000Z"), g.pick(routerVerdicts[v]), policy, version, g.rng.IntN(40), user, model, reasons[v], mode, enforced, cats)
	case OPA:
		return fmt.Appendf(buf, `{"labels":{"app":"llm-gateway","version":"1.4.0"},"decision_id":"00000000-0000-4000-8000-%012d","bundles":{"guardrails":{"revision":"r%s"}},"path":"llm/guardrails/decision","input":{"user":%q,"project":%q,"model":%q},"result":{"decision":%q,"reason_code":%q,"policy_id":%q,"triggered_categories":%s},"timestamp":"%s"}`,
			n, version, user, project, model, flatVerdicts[v][0], reasons[v], policy, cats, t.Format(time.RFC3339Nano))
	case Admin:
		if g.edit != noEdit {
			return g.appendQuietAdmin(buf, t, n)
		}
		action := g.pick(adminActions)
		return fmt.Appendf(buf, `{"created_at":"%s","request_id":"adm-%08d","actor":{"id":"admin-%d@example.com","type":"user"},"action":%q,"resource":{"type":"policy","id":%q},"outcome":"success","details":{"to_version":%q},"policy_id":%q,"policy_version":%q}`,
			t.Format(time.RFC3339), n, g.rng.IntN(5), action, policy, policyVersion(t), policy, policyVersion(t))
	default:
		buf = fmt.Appendf(buf, `{"request_id":"sim-%08d","policy_id":%q,"policy_version":%q,"decision":%q,"reason_code":%q,"policy_user":%q,"project_id":%q,"rollout_mode":%q,"enforced":%t,"triggered_categories":%s,"model":%q,"created_at":"%s",`,
			n, policy, version, g.pick(flatVerdicts[v]), reasons[v], user, project, mode, enforced, cats, model, t.Format("2006-01-02T15:04:05.000Z"))
		return appendUsage(buf, n, v == 1 && enforced)
	}
}

// appendUsage ends a flat record with the call's usage, from the record's
// number, not the random stream (the stream, and every record after, stay
// what they were before usage existed): a blocked call spent its prompt's
// tokens on the guard and produced none.
func appendUsage(buf []byte, n int, blocked bool) []byte {
	in, out := 50+(n*37)%950, 20+(n*53)%480
	if blocked {
		out = 0
	}
	cost := float64(in)*0.000002 + float64(out)*0.000008 // USD, gpt-4.1's list prices per token
	return fmt.Appendf(buf, `"usage":{"input_tokens":%d,"output_tokens":%d,"cost":%s,"currency":"USD","latency_ms":%d}}`,
		in, out, strconv.FormatFloat(cost, 'f', 6, 64), 200+(n*97)%1800)
}

// appendQuietAdmin appends an admin event that changes no policy: a key
// created or revoked, a model enabled (the background of a scripted edit).
func (g *Generator) appendQuietAdmin(buf []byte, t time.Time, n int) []byte {
	kind, id, action := "api_key", "key_live_"+strconv.Itoa(g.rng.IntN(40)), "key.revoke"
	switch g.rng.IntN(3) {
	case 0:
		action = "key.create"
	case 1:
		kind, id, action = "model", g.pick(models), "model.enable"
	}
	return fmt.Appendf(buf, `{"created_at":"%s","request_id":"adm-%08d","actor":{"id":"admin-%d@example.com","type":"user"},"action":%q,"resource":{"type":%q,"id":%q},"outcome":"success"}`,
		t.Format(time.RFC3339), n, g.rng.IntN(5), action, kind, id)
}
