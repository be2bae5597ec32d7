// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
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
	rep, err := gatewaysim.Run(context.Background(), gen, gatewaysim.Options{URL: c.URL, Token: harness.ReceiverToken, Records: 20000, Batch: 500, Workers: 4})
	require.NoError(t, err)
	require.Equal(t, 20000, rep.Accepted, rep)
	harness.WaitForStored(t, c, harness.ReceiverToken, 20000)
	c.Stop(t) // the store signs its head as it stops: after the day

	t.Setenv("POLICYAUDIT_DATA_DIR", c.DataDir)
	t.Setenv("POLICYAUDIT_SIGNING_KEY_FILE", key.KeyFile)
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
