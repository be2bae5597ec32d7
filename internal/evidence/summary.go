// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package evidence

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/policyaudit/policyaudit/internal/record"
)

// Summary is what the records of a bundle's range say, per policy and
// version: written by the export, recomputed by the verifier, which
// requires the two to be equal byte for byte (and the CSV and the report
// rendered from it too).
type Summary struct {
	From         string          `json:"from"`
	To           string          `json:"to"`
	Policy       string          `json:"policy,omitempty"`
	Records      int             `json:"records"`
	Decisions    int             `json:"decisions"`
	AdminEvents  int             `json:"admin_events"`
	Policies     []PolicySummary `json:"policies"`
	Days         []DaySummary    `json:"days"`
	GapThreshold string          `json:"gap_threshold"`
	Gaps         []Gap           `json:"gaps"`
}

// PolicySummary is one policy at one version.
type PolicySummary struct {
	PolicyID      string `json:"policy_id"`
	PolicyVersion string `json:"policy_version"`
	// Enforced counts the verdicts that took effect; Observed those of a
	// rollout that only observed (shadow).
	Enforced map[string]int `json:"enforced"`
	Observed map[string]int `json:"observed"`
	// Changes are the admin events that name the policy at this version.
	Changes []Change `json:"changes"`
}

// Change is an admin event on a policy.
type Change struct {
	At      string `json:"at"`
	Action  string `json:"action"`
	Actor   string `json:"actor"`
	Outcome string `json:"outcome"`
	EventID string `json:"event_id"`
}

// DaySummary counts a UTC day's records (by created_at).
type DaySummary struct {
	Date        string `json:"date"`
	Decisions   int    `json:"decisions"`
	AdminEvents int    `json:"admin_events"`
}

// Gap is a stretch of the range longer than the threshold with no record.
type Gap struct {
	From    string `json:"from"`
	To      string `json:"to"`
	Minutes int64  `json:"minutes"`
}

// inRange reports a record created in [from, to) of policy ("" any).
func inRange(rec map[string]any, from, to time.Time, policy string) (time.Time, bool) {
	created, err := time.Parse(time.RFC3339Nano, str(rec, record.FieldCreatedAt))
	if err != nil || created.Before(from) || !created.Before(to) {
		return created, false
	}
	return created, policy == "" || str(rec, record.FieldPolicyID) == policy
}

// str reads a string at a path of a decoded record.
func str(m map[string]any, path ...string) string {
	for _, k := range path[:len(path)-1] {
		next, _ := m[k].(map[string]any)
		m = next
	}
	s, _ := m[path[len(path)-1]].(string)
	return s
}

// summarize counts the records in range (decoded, any order).
func summarize(recs []map[string]any, from, to time.Time, policy string, gap time.Duration) Summary {
	s := Summary{From: from.UTC().Format(time.RFC3339), To: to.UTC().Format(time.RFC3339), Policy: policy,
		GapThreshold: gap.String(), Policies: []PolicySummary{}, Days: []DaySummary{}, Gaps: []Gap{}}
	policies := map[[2]string]*PolicySummary{}
	days := map[string]*DaySummary{}
	var times []time.Time
	of := func(id, version string) *PolicySummary {
		k := [2]string{id, version}
		p, ok := policies[k]
		if !ok {
			p = &PolicySummary{PolicyID: id, PolicyVersion: version, Enforced: map[string]int{}, Observed: map[string]int{}, Changes: []Change{}}
			policies[k] = p
		}
		return p
	}
	for _, rec := range recs {
		created, ok := inRange(rec, from, to, policy)
		if !ok {
			continue
		}
		s.Records++
		times = append(times, created)
		day := created.UTC().Format(time.DateOnly)
		d, ok := days[day]
		if !ok {
			d = &DaySummary{Date: day}
			days[day] = d
		}
		if str(rec, record.FieldEventKind) == record.EventKindAdmin {
			s.AdminEvents++
			d.AdminEvents++
			if id := str(rec, record.FieldPolicyID); id != "" {
				p := of(id, str(rec, record.FieldPolicyVersion))
				p.Changes = append(p.Changes, Change{At: str(rec, record.FieldCreatedAt), Action: str(rec, record.FieldAction),
					Actor: str(rec, record.FieldActor, record.SubfieldID), Outcome: str(rec, record.FieldOutcome), EventID: str(rec, record.FieldEventID)})
			}
			continue
		}
		s.Decisions++
		d.Decisions++
		p := of(str(rec, record.FieldPolicyID), str(rec, record.FieldPolicyVersion))
		if enforced, _ := rec[record.FieldEnforced].(bool); enforced {
			p.Enforced[str(rec, record.FieldDecision)]++
		} else {
			p.Observed[str(rec, record.FieldDecision)]++
		}
	}
	for _, p := range policies {
		sort.Slice(p.Changes, func(i, j int) bool {
			return p.Changes[i].At < p.Changes[j].At || p.Changes[i].At == p.Changes[j].At && p.Changes[i].EventID < p.Changes[j].EventID
		})
		s.Policies = append(s.Policies, *p)
	}
	sort.Slice(s.Policies, func(i, j int) bool {
		a, b := s.Policies[i], s.Policies[j]
		return a.PolicyID < b.PolicyID || a.PolicyID == b.PolicyID && a.PolicyVersion < b.PolicyVersion
	})
	for _, d := range days {
		s.Days = append(s.Days, *d)
	}
	sort.Slice(s.Days, func(i, j int) bool { return s.Days[i].Date < s.Days[j].Date })
	s.Gaps = gaps(times, from, to, gap)
	return s
}

// gaps are the stretches of [from, to) longer than threshold with no record.
func gaps(times []time.Time, from, to time.Time, threshold time.Duration) []Gap {
	sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
	out := []Gap{}
	prev := from
	for _, t := range append(times, to) {
		if t.Sub(prev) > threshold {
			out = append(out, Gap{From: prev.UTC().Format(time.RFC3339Nano), To: t.UTC().Format(time.RFC3339Nano), Minutes: int64(t.Sub(prev) / time.Minute)})
		}
		if t.After(prev) {
			prev = t
		}
	}
	return out
}

// summaryJSON is the summary's file: indented, keys in order.
func summaryJSON(s Summary) []byte {
	b, _ := json.MarshalIndent(s, "", "  ")
	return append(b, '\n')
}

// verdictColumns are the CSV's verdict columns, in the contract's order.
var verdictColumns = []string{record.DecisionAllow, record.DecisionDeny, record.DecisionModify, record.DecisionRedact, record.DecisionEscalate}

// summaryCSV is one row per policy, version and rollout (enforced or
// observed), a column per verdict, for a spreadsheet.
func summaryCSV(s Summary) []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write(append([]string{"policy_id", "policy_version", "rollout"}, append(verdictColumns, "admin_changes")...))
	for _, p := range s.Policies {
		for _, r := range []struct {
			name   string
			counts map[string]int
		}{{"enforced", p.Enforced}, {"observed", p.Observed}} {
			row := []string{p.PolicyID, p.PolicyVersion, r.name}
			for _, v := range verdictColumns {
				row = append(row, strconv.Itoa(r.counts[v]))
			}
			changes := 0
			if r.name == "enforced" {
				changes = len(p.Changes)
			}
			_ = w.Write(append(row, strconv.Itoa(changes)))
		}
	}
	w.Flush()
	return b.Bytes()
}

// report is the summary for a reader: Markdown.
func report(s Summary, m Manifest) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "# Evidence: policy decisions from %s to %s\n\n", s.From, s.To)
	if s.Policy != "" {
		fmt.Fprintf(&b, "Policy: `%s`.\n\n", s.Policy)
	}
	fmt.Fprintf(&b, "%d records: %d decisions, %d admin events (created in the range). ", s.Records, s.Decisions, s.AdminEvents)
	fmt.Fprintf(&b, "Every record is tied by its hash chain to a head signed by %s; `policyaudit evidence verify` checks it offline.\n\n", headKeys(m))
	b.WriteString("## Decisions by policy and version\n\n| Policy | Version | Rollout | " + strings.Join(verdictColumns, " | ") + " |\n|---|---|---|" + strings.Repeat("---|", len(verdictColumns)) + "\n")
	for _, p := range s.Policies {
		for _, r := range []struct {
			name   string
			counts map[string]int
		}{{"enforced", p.Enforced}, {"observed", p.Observed}} {
			total := 0
			for _, n := range r.counts {
				total += n
			}
			if total == 0 {
				continue
			}
			fmt.Fprintf(&b, "| %s | %s | %s |", cell(p.PolicyID), cell(p.PolicyVersion), r.name)
			for _, v := range verdictColumns {
				fmt.Fprintf(&b, " %d |", r.counts[v])
			}
			b.WriteString("\n")
		}
	}
	b.WriteString("\n## Changes to the policies\n\n")
	changes := 0
	for _, p := range s.Policies {
		for _, c := range p.Changes {
			if changes == 0 {
				b.WriteString("| When | Policy | Version | Action | Actor | Outcome |\n|---|---|---|---|---|---|\n")
			}
			changes++
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", c.At, cell(p.PolicyID), cell(p.PolicyVersion), cell(c.Action), cell(c.Actor), cell(c.Outcome))
		}
	}
	if changes == 0 {
		b.WriteString("No admin event names a policy in the range.\n")
	}
	b.WriteString("\n## Records per day\n\n| Day | Decisions | Admin events |\n|---|---|---|\n")
	for _, d := range s.Days {
		fmt.Fprintf(&b, "| %s | %d | %d |\n", d.Date, d.Decisions, d.AdminEvents)
	}
	fmt.Fprintf(&b, "\n## Stretches with no record longer than %s\n\n", s.GapThreshold)
	if len(s.Gaps) == 0 {
		b.WriteString("None.\n")
	}
	for _, g := range s.Gaps {
		fmt.Fprintf(&b, "- %s to %s (%d minutes)\n", g.From, g.To, g.Minutes)
	}
	if len(m.S3) > 0 {
		b.WriteString("\n## The S3 trail\n\n")
		b.WriteString("Signed digests listing every object written, with its SHA-256; `s3-digests.jsonl` carries them, and `policyaudit evidence verify` checks their signatures, their chain and the store heads they carry. Check the objects they list against the bucket with `policyaudit verify s3 --bucket BUCKET --digest-prefix PREFIX --from FROM --to TO --public-key PUB.pem`.\n\n| Bucket | Digest prefix | Digests | From | To |\n|---|---|---|---|---|\n")
		for _, e := range m.S3 {
			fmt.Fprintf(&b, "| %s | %s | %d | %s | %s |\n", cell(e.Bucket), cell(e.DigestPrefix), e.Digests, e.Start, e.End)
		}
	}
	return []byte(b.String())
}

// cell keeps a value from breaking the Markdown table.
func cell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "\r", " ").Replace(s)
}

// headKeys names the keys the runs' closing heads are signed with: the
// store's, or one per collector of a fleet.
func headKeys(m Manifest) string {
	ids := []string{m.KeyID}
	for _, run := range m.Chains {
		if run.KeyID != "" && !slices.Contains(ids, run.KeyID) {
			ids = append(ids, run.KeyID)
		}
	}
	if len(m.Chains) > 0 && !slices.ContainsFunc(m.Chains, func(r ChainRun) bool { return r.KeyID == m.KeyID }) {
		ids = ids[1:] // the manifest's signer closes no run
	}
	if len(ids) == 1 {
		return "key `" + ids[0] + "`"
	}
	return "the keys `" + strings.Join(ids, "`, `") + "` (each collector of the fleet signs its own chain)"
}
