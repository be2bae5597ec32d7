// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/policyaudit/policyaudit/internal/evidence"
	"github.com/policyaudit/policyaudit/internal/gatewaysim"
	"github.com/policyaudit/policyaudit/internal/record"
	"github.com/policyaudit/policyaudit/internal/usagereport"
	"github.com/policyaudit/policyaudit/test/harness"
)

// A day of the demo's traffic (the simulator, an administrator tightening
// prompt-injection at noon) through the sidecar's audit store, exported
// as a bundle and verified with nothing but the bundle and the public key,
// in an empty directory, after the collector stopped. The README shows the
// report this run writes.
func TestEvidenceBundleOfADayOfDemoTraffic(t *testing.T) {
	key := harness.NewSigningKey(t)
	examples := filepath.Join(harness.Root, "config", "examples")
	configs := []string{filepath.Join(examples, "common.yaml"), filepath.Join(examples, "auditstore.yaml")}
	c := harness.StartCollector(t, []string{key.Env(), "POLICYAUDIT_RECEIVER_TOKEN=" + harness.ReceiverToken}, configs...)

	dayStart := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	gen := gatewaysim.NewGenerator(7, dayStart, 24*time.Hour, 20000)
	gen.Edit(12 * time.Hour)
	var sent bytes.Buffer // what the simulator sent, to count usage by hand
	rep, err := gatewaysim.Run(context.Background(), gen, gatewaysim.Options{URL: c.URL, Token: harness.ReceiverToken, Records: 20000, Batch: 500, Workers: 4, Tee: &sent})
	require.NoError(t, err)
	require.Equal(t, 20000, rep.Accepted, rep)
	harness.WaitForStored(t, c, harness.ReceiverToken, 20000)
	c.Stop(t) // the store signs its head as it stops: after the day

	t.Setenv("POLICYAUDIT_DATA_DIR", c.DataDir)
	t.Setenv("POLICYAUDIT_SIGNING_KEY_FILE", key.KeyFile)
	usageAgreesWithAHandCount(t, configs, sent.Bytes())

	bundle := filepath.Join(t.TempDir(), "evidence-2026-03-02.tar.gz")
	args := []string{"evidence", "export", "--from", "2026-03-02T00:00:00Z", "--to", "2026-03-03T00:00:00Z", "--out", bundle}
	for _, cfg := range configs {
		args = append(args, "--config", cfg)
	}
	code, out := policyaudit(args...)
	require.Equal(t, 0, code, out)
	assert.Contains(t, out, "records (")

	// Offline: an empty directory, the collector stopped, no peer running.
	pub, err := os.ReadFile(key.PublicKeyFile)
	require.NoError(t, err)
	empty := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(empty, "pub.pem"), pub, 0o600))
	require.NoError(t, copyFile(bundle, filepath.Join(empty, "bundle.tar.gz")))
	t.Chdir(empty)
	code, out = policyaudit("evidence", "verify", "--public-key", "pub.pem", "bundle.tar.gz")
	require.Equal(t, 0, code, out)
	assert.Regexp(t, `^ok: 20000 records created from 2026-03-02T00:00:00Z to 2026-03-03T00:00:00Z, in \d+ links of 1 chain\(s\)`, out)
	code, out = policyaudit("evidence", "verify", "bundle.tar.gz", "--public-key", "pub.pem")
	require.Equal(t, 0, code, "flags after the bundle too: %s", out)

	// The report's tables, as the README shows them.
	f, err := os.Open("bundle.tar.gz")
	require.NoError(t, err)
	defer f.Close()
	files, err := evidence.ReadBundle(f)
	require.NoError(t, err)
	report := string(files[evidence.FileReport])
	t.Logf("report.md:\n%s", report)
	assert.Contains(t, report, "| prompt-injection |")
	assert.Contains(t, report, "policy.update", "the noon edit is listed as a change to the policy")
	excerpt := reportExcerpt(report, "prompt-injection")
	readme, err := os.ReadFile(filepath.Join(harness.Root, "README.md"))
	require.NoError(t, err)
	if !strings.Contains(string(readme), excerpt) {
		t.Errorf("the README's evidence excerpt is not what this run's report.md says; it should hold:\n%s", excerpt)
	}
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o600)
}

// reportExcerpt is what the README shows of a report: its opening, the
// decision table's rows of one policy, and the policy changes.
func reportExcerpt(report, policy string) string {
	var out []string
	section := ""
	for _, line := range strings.Split(report, "\n") {
		if strings.HasPrefix(line, "## ") {
			section = line
		}
		switch {
		case section == "", section == "## Changes to the policies":
			out = append(out, line)
		case section == "## Decisions by policy and version":
			if !strings.HasPrefix(line, "| ") || strings.HasPrefix(line, "| Policy ") || strings.HasPrefix(line, "| "+policy+" |") {
				out = append(out, line)
			} else if strings.HasPrefix(line, "|---") {
				out = append(out, line)
			}
		}
	}
	return keyIDs.ReplaceAllString(strings.Join(out, "\n"), "key `<the store's key ID>`")
}

var keyIDs = regexp.MustCompile("key `[0-9a-f]{16}`")

// usageAgreesWithAHandCount runs `policyaudit report usage --by project`
// on the store and compares each project's row with the sums of what the
// simulator sent, counted here from its lines: the flat records carry
// usage (in US dollars), the OPA records a project and no usage, the
// router records neither; a decision is denied when its verdict maps to
// deny and it was enforced.
func usageAgreesWithAHandCount(t *testing.T, configs []string, sent []byte) {
	t.Helper()
	type row struct {
		Decisions, Denied, InputTokens, OutputTokens, TotalTokens int64
		Cost                                                      float64
	}
	want := map[string]*row{}
	for _, line := range bytes.Split(bytes.TrimSpace(sent), []byte("\n")) {
		var in map[string]any
		require.NoError(t, json.Unmarshal(line, &in))
		if _, admin := in["actor"]; admin {
			continue
		}
		project, verdict := "", ""
		enforced := true
		if v, ok := in["enforced"].(bool); ok {
			enforced = v
		}
		switch {
		case in["decision_id"] != nil: // OPA
			project = in["input"].(map[string]any)["project"].(string)
			verdict = in["result"].(map[string]any)["decision"].(string)
		case in["verdict"] != nil: // the router
			verdict = in["verdict"].(string)
		default:
			project, verdict = in["project_id"].(string), in["decision"].(string)
		}
		if want[project] == nil {
			want[project] = &row{}
		}
		r := want[project]
		r.Decisions++
		if d, _ := record.MapVerdict(verdict); d == record.DecisionDeny && enforced {
			r.Denied++
		}
		if u, ok := in["usage"].(map[string]any); ok {
			in, out := int64(u["input_tokens"].(float64)), int64(u["output_tokens"].(float64))
			r.InputTokens += in
			r.OutputTokens += out
			r.TotalTokens += in + out
			r.Cost += u["cost"].(float64)
		}
	}
	args := []string{"report", "usage", "--from", "2026-03-02T00:00:00Z", "--to", "2026-03-03T00:00:00Z", "--by", "project", "--format", "json"}
	for _, cfg := range configs {
		args = append(args, "--config", cfg)
	}
	code, out := policyaudit(args...)
	require.Equal(t, 0, code, out)
	var got struct{ Rows []usagereport.Row }
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	require.Len(t, got.Rows, len(want), out)
	for _, g := range got.Rows {
		w := want[g.Key]
		require.NotNil(t, w, "row %q", g.Key)
		assert.Equal(t, w.Decisions, g.Decisions, "%s decisions", g.Key)
		assert.Equal(t, w.Denied, g.Denied, "%s denied", g.Key)
		assert.Equal(t, w.InputTokens, g.InputTokens, g.Key)
		assert.Equal(t, w.OutputTokens, g.OutputTokens, g.Key)
		assert.Equal(t, w.TotalTokens, g.TotalTokens, g.Key)
		assert.InDelta(t, w.Cost, g.Costs["USD"], 0.000001, g.Key)
	}
	t.Logf("report usage --by project:\n%s", out)
}
