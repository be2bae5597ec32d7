// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package siem

import (
	"bufio"
	"encoding/csv"
	"encoding/xml"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/policyaudit/policyaudit/internal/record"
	"github.com/policyaudit/policyaudit/internal/testfixtures"
)

var splunkApp = filepath.Join(testfixtures.Root, "deploy", "siem", "splunk", "policyaudit")

// conf is a Splunk .conf file: stanza → key → value (continued lines
// joined).
type conf map[string]map[string]string

func readConf(t *testing.T, name string) conf {
	f, err := os.Open(filepath.Join(splunkApp, name))
	require.NoError(t, err)
	defer f.Close()
	out := conf{}
	stanza := ""
	var key, value string
	flush := func() {
		if key != "" {
			out[stanza][key] = value
			key, value = "", ""
		}
	}
	sc := bufio.NewScanner(f)
	continued := false
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if continued {
			more := strings.TrimSuffix(line, `\`)
			value += "\n" + strings.TrimSpace(more)
			continued = more != line
			if !continued {
				flush()
			}
			continue
		}
		trimmed := strings.TrimSpace(line)
		switch {
		case trimmed == "" || strings.HasPrefix(trimmed, "#"):
		case strings.HasPrefix(trimmed, "["):
			require.True(t, strings.HasSuffix(trimmed, "]"), "%s:%d: a stanza header", name, n)
			stanza = trimmed[1 : len(trimmed)-1]
			require.NotContains(t, out, stanza, "%s: stanza [%s] twice", name, stanza)
			out[stanza] = map[string]string{}
		default:
			k, v, ok := strings.Cut(trimmed, "=")
			require.True(t, ok, "%s:%d: not key = value: %q", name, n, line)
			require.Contains(t, out, stanza, "%s:%d: a key before any stanza", name, n)
			key = strings.TrimSpace(k)
			require.NotContains(t, out[stanza], key, "%s [%s]: %s twice", name, stanza, key)
			more := strings.TrimSpace(v)
			value = strings.TrimSuffix(more, `\`)
			value = strings.TrimSpace(value)
			continued = strings.HasSuffix(more, `\`)
			if !continued {
				flush()
			}
		}
	}
	require.NoError(t, sc.Err())
	require.False(t, continued, "%s ends inside a continued value", name)
	return out
}

// The settings each .conf file may use (Splunk's .conf.spec files, the
// part of them the app needs); a misspelt key fails.
var confKeys = map[string][]string{
	"app.conf":        {"is_configured", "is_visible", "label", "author", "description", "version", "id"},
	"props.conf":      {"KV_MODE", "TRUNCATE", "SHOULD_LINEMERGE", "TIME_PREFIX", "TIME_FORMAT", "FIELDALIAS-*", "EVAL-*", "LOOKUP-*"},
	"transforms.conf": {"filename", "case_sensitive_match", "max_matches"},
	"indexes.conf":    {"homePath", "coldPath", "thawedPath", "frozenTimePeriodInSecs", "maxTotalDataSizeMB"},
	"macros.conf":     {"definition", "description", "args"},
	"savedsearches.conf": {"search", "description", "dispatch.earliest_time", "dispatch.latest_time", "cron_schedule", "enableSched", "counttype", "relation", "quantity",
		"alert.digest_mode", "alert.severity", "alert.suppress", "alert.suppress.fields", "alert.suppress.period", "alert.track", "action.email"},
}

// splunkFields are the field names a search of the records may use: the
// canonical record's fields and their members as Splunk's JSON extraction
// names them (actor.id), and Splunk's own.
func splunkFields() []string {
	out := []string{"_time", "index", "sourcetype", "source", "host", "user", "verdict", "severity", "count"}
	for _, k := range []record.Kind{record.KindDecision, record.KindAdmin} {
		for _, f := range record.FieldsOf(k) {
			out = append(out, f.Name)
			for _, s := range f.Subfields {
				out = append(out, f.Name+"."+s.Name)
			}
		}
	}
	for _, m := range []string{record.UsageInputTokens, record.UsageOutputTokens, record.UsageTotalTokens, record.UsageCost, record.UsageCurrency, record.UsageLatencyMS, record.UsageStatusCode, record.UsageRequestPath} {
		out = append(out, record.FieldUsage+"."+m)
	}
	return out
}

// splFields are the fields an SPL search reads: compared in field="value"
// or field!=value, grouped BY, listed by table, fields or top, taken by a
// statistic, or quoted 'like.this' in eval; less the ones it makes (AS x,
// eval x=, untable's value fields).
func splFields(spl string) []string {
	made := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?i)\bAS\s+([\w.]+)`).FindAllStringSubmatch(spl, -1) {
		made[m[1]] = true
	}
	for _, m := range regexp.MustCompile(`(?i)\beval\s+([\w.]+)\s*=`).FindAllStringSubmatch(spl, -1) {
		made[m[1]] = true
	}
	for _, m := range regexp.MustCompile(`(?i)\buntable\s+[\w.]+\s+([\w.]+)\s+([\w.]+)`).FindAllStringSubmatch(spl, -1) {
		made[m[1]], made[m[2]] = true, true // untable's name and value fields
	}
	var read []string
	add := func(s string) {
		s = strings.Trim(s, "'")
		if s != "" && !made[s] && !slices.Contains(read, s) {
			read = append(read, s)
		}
	}
	for _, m := range regexp.MustCompile(`([\w.']+)\s*(?:!=|=)\s*"`).FindAllStringSubmatch(spl, -1) {
		add(m[1])
	}
	for _, m := range regexp.MustCompile(`(?i)\b(?:BY|table|fields|top(?:\s+limit=\d+)?)\s+((?:[\w.]+[\s,]*)+)`).FindAllStringSubmatch(spl, -1) {
		for _, f := range strings.FieldsFunc(m[1], func(r rune) bool { return r == ' ' || r == ',' || r == '\n' }) {
			if !strings.EqualFold(f, "AS") {
				add(f)
			}
		}
	}
	for _, m := range regexp.MustCompile(`\b(?:count|avg|min|max|latest|earliest|values|dc|sum)\(([\w.]+)\)`).FindAllStringSubmatch(spl, -1) {
		add(m[1])
	}
	for _, m := range regexp.MustCompile(`'([\w.]+)'`).FindAllStringSubmatch(spl, -1) {
		add(m[1])
	}
	return read
}

// The app is what Splunk loads: every .conf file parses into stanzas of
// key = value, with only the settings its spec has; the sourcetypes are
// the ones the processor sends; the lookup's file has the columns the
// props use; the dashboard is Simple XML; and every field a search or the
// dashboard reads is a field of the record (or one the search made), so a
// renamed field fails here.
func TestSplunkAppParsesAndNamesOnlyTheRecordsFields(t *testing.T) {
	confs := map[string]conf{}
	for name, keys := range confKeys {
		c := readConf(t, filepath.Join("default", name))
		confs[name] = c
		for stanza, kv := range c {
			for k := range kv {
				ok := slices.Contains(keys, k) || slices.ContainsFunc(keys, func(p string) bool {
					return strings.HasSuffix(p, "*") && strings.HasPrefix(k, strings.TrimSuffix(p, "*"))
				})
				assert.True(t, ok, "%s [%s]: %s is not a setting of %s", name, stanza, k, name)
			}
		}
	}
	assert.ElementsMatch(t, []string{"policy_gateway:decision", "policy_gateway:admin"}, keysOf(confs["props.conf"]), "the sourcetypes the processor sends (its splunk defaults)")

	// The lookup: the transform's file has the columns props use.
	lookup := confs["transforms.conf"]["policyaudit_verdicts"]
	f, err := os.Open(filepath.Join(splunkApp, "lookups", lookup["filename"]))
	require.NoError(t, err)
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	require.NoError(t, err)
	assert.Equal(t, []string{"verdict", "severity"}, rows[0])
	var verdicts []string
	for _, r := range rows[1:] {
		verdicts = append(verdicts, r[0])
	}
	assert.ElementsMatch(t, []string{record.DecisionAllow, record.DecisionDeny, record.DecisionModify, record.DecisionRedact, record.DecisionEscalate}, verdicts)

	searches := map[string]string{}
	for stanza, kv := range confs["savedsearches.conf"] {
		searches["savedsearches.conf ["+stanza+"]"] = kv["search"]
	}
	b, err := os.ReadFile(filepath.Join(splunkApp, "default", "data", "ui", "views", "policyaudit_decisions.xml"))
	require.NoError(t, err)
	var dash struct {
		XMLName xml.Name `xml:"dashboard"`
		Label   string   `xml:"label"`
		Rows    []struct {
			Panels []struct {
				Title   string   `xml:"title"`
				Queries []string `xml:"chart>search>query"`
				Tables  []string `xml:"table>search>query"`
			} `xml:"panel"`
		} `xml:"row"`
	}
	require.NoError(t, xml.Unmarshal(b, &dash))
	require.NotEmpty(t, dash.Label)
	panels := 0
	for _, r := range dash.Rows {
		for _, p := range r.Panels {
			queries := append(p.Queries, p.Tables...)
			require.Len(t, queries, 1, p.Title)
			searches["dashboard: "+p.Title] = queries[0]
			panels++
		}
	}
	assert.Equal(t, 5, panels)
	for _, spec := range confs["props.conf"] {
		for k, v := range spec {
			if strings.HasPrefix(k, "FIELDALIAS-") || strings.HasPrefix(k, "LOOKUP-") {
				searches["props.conf "+k] = "| fields " + strings.Join(aliasSources(v), " ")
			}
		}
	}
	known := splunkFields()
	for name, spl := range searches {
		require.NotEmpty(t, spl, name)
		if !strings.HasPrefix(name, "props.conf") {
			assert.Contains(t, spl, "`policyaudit_index`", "%s searches the app's index macro", name)
		}
		for _, f := range splFields(spl) {
			assert.Contains(t, known, f, "%s reads a field the records do not have:\n%s", name, spl)
		}
	}
	assert.ElementsMatch(t, []string{"policy_id", "decision", "effective_decision", "resource.type", "resource.id", "actor.id"},
		splFields(`x policy_id="a" decision!="b" | stats count BY effective_decision | eval p=if('resource.type'="policy", 'resource.id', null()) | table actor.id p`),
		"the field reader itself")
}

func keysOf(c conf) []string {
	var out []string
	for k := range c {
		out = append(out, k)
	}
	return out
}

// aliasSources are the record's fields a FIELDALIAS or LOOKUP setting reads.
func aliasSources(v string) []string {
	if m := regexp.MustCompile(`^\S+\s+\S+\s+AS\s+(\S+)`).FindStringSubmatch(v); m != nil && strings.Contains(v, "OUTPUT") {
		return []string{m[1]} // LOOKUP: lookup-field AS event-field OUTPUT...
	}
	f, _, _ := strings.Cut(v, " AS ")
	return []string{strings.TrimSpace(f)}
}
