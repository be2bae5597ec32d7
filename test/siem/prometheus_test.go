// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package siem

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/policyaudit/policyaudit/connector/decisionmetricsconnector"
	"github.com/policyaudit/policyaudit/internal/testfixtures"
)

var prometheusDir = filepath.Join(testfixtures.Root, "deploy", "prometheus")

// Promtool is Debian's promtool (make tools): PROMTOOL_BIN, or bin/promtool.
func Promtool(t testing.TB) string {
	t.Helper()
	bin := os.Getenv("PROMTOOL_BIN")
	if bin == "" {
		bin = filepath.Join(testfixtures.Root, "bin", "promtool")
	}
	_, err := os.Stat(bin)
	require.NoError(t, err, "promtool is missing: make tools installs it")
	return bin
}

func promtool(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(Promtool(t), args...)
	cmd.Dir = prometheusDir
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "promtool %v:\n%s", args, out)
	return string(out)
}

// The rules parse, and fire on the series that must fire them and on no
// other (a steady deny rate, a change to another policy, a change two
// hours old), in promtool's own rule tests.
func TestRulesPassPromtool(t *testing.T) {
	assert.Contains(t, promtool(t, "check", "rules", "policyaudit-rules.yaml"), "SUCCESS")
	assert.Contains(t, promtool(t, "test", "rules", "policyaudit-rules.test.yaml"), "SUCCESS")
}

// Every label the rules and the dashboard select or group by is one the
// decisionmetrics connector writes: a renamed record field or label fails
// here, not silently in a SIEM.
func TestRulesAndDashboardNameOnlyTheConnectorsLabels(t *testing.T) {
	known := append(append([]string{}, decisionmetricsconnector.DecisionLabels...), decisionmetricsconnector.AdminLabels...)
	metrics := []string{"policyaudit_decisions_total", "policyaudit_admin_events_total"}
	for _, name := range []string{"policyaudit-rules.yaml", "policyaudit-rules.test.yaml", "grafana-dashboard.json"} {
		b, err := os.ReadFile(filepath.Join(prometheusDir, name))
		require.NoError(t, err)
		text := string(b)
		for _, m := range regexp.MustCompile(`policyaudit_[a-z_]+_total`).FindAllString(text, -1) {
			assert.Contains(t, metrics, m, "%s names a metric the connector does not write", name)
		}
		for _, l := range labelsIn(text) {
			if !slices.Contains(known, l) && !slices.Contains([]string{"severity", "alertname", "le", "job", "instance"}, l) {
				t.Errorf("%s: label %q is not one the decisionmetrics connector writes (%s)", name, l, strings.Join(known, ", "))
			}
		}
	}
}

// labelsIn are the label names of selectors ({k="v"}), of by/without
// clauses, of on/ignoring matchings and of template references.
func labelsIn(text string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`[{,]\s*([a-z_]+)\s*(?:=~|!~|!=|=)\s*\\?"`).FindAllStringSubmatch(text, -1) {
		out = append(out, m[1])
	}
	for _, m := range regexp.MustCompile(`\b(?:by|without|on|ignoring)\s*\(([^)]*)\)`).FindAllStringSubmatch(text, -1) {
		for _, l := range strings.Split(m[1], ",") {
			if l = strings.TrimSpace(l); l != "" {
				out = append(out, l)
			}
		}
	}
	for _, m := range regexp.MustCompile(`\$labels\.([a-z_]+)`).FindAllStringSubmatch(text, -1) {
		out = append(out, m[1])
	}
	return out
}
