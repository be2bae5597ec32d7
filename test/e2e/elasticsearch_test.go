// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/policyaudit/policyaudit/test/harness"
)

// backingIndex is the name of a data stream's backing index, which a
// search names as a hit's _index (.ds-<stream>-<date>-<generation>).
func backingIndex(stream string) *regexp.Regexp {
	return regexp.MustCompile(`^\.ds-` + regexp.QuoteMeta(stream) + `-\d{4}\.\d{2}\.\d{2}-\d{6}$`)
}

// readmeInstall is the shell block of deploy/elasticsearch/README.md that
// installs the index template: the test runs it as written.
func readmeInstall(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(harness.Root, "deploy", "elasticsearch", "README.md"))
	require.NoError(t, err)
	blocks := regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(string(raw), -1)
	for _, b := range blocks {
		if strings.Contains(b[1], "_index_template/policyaudit") {
			return b[1]
		}
	}
	t.Fatal("deploy/elasticsearch/README.md has no sh block that installs the template")
	return ""
}

// fieldType is a field's type in the mapping of the one index a pattern
// names, and its sub-fields' types ("" when not mapped).
func fieldType(t *testing.T, es *harness.Elasticsearch, pattern, path string) (string, map[string]string) {
	t.Helper()
	m := es.Mapping(t, pattern)
	require.Len(t, m, 1, "one index for %s", pattern)
	for _, idx := range m {
		node := idx.(map[string]any)["mappings"]
		for _, part := range strings.Split(path, ".") {
			props, _ := node.(map[string]any)["properties"].(map[string]any)
			if node = props[part]; node == nil {
				return "", nil
			}
		}
		f := node.(map[string]any)
		subs := map[string]string{}
		if fields, ok := f["fields"].(map[string]any); ok {
			for name, sub := range fields {
				subs[name], _ = sub.(map[string]any)["type"].(string)
			}
		}
		typ, _ := f["type"].(string)
		return typ, subs
	}
	return "", nil
}

// common.yaml + elasticsearch.yaml, as a new user runs them against a real
// node, three times: on a bare node (no index template: dynamic mapping
// makes the names plain indices and policy.correlation_id a text field
// with a keyword sub-field), under someone's template that maps it as text
// alone, and with deploy/elasticsearch's template installed as its README
// says (a data stream, the identifiers keyword). Every record arrives with
// _id = event_id, and `policyaudit verify --correlation-id` finds the one
// record of an ID in each, never a record whose ID only contains its words.
func TestVerifyFindsElasticsearchRecordsWhateverTheMapping(t *testing.T) {
	es := harness.StartElasticsearch(t)
	key := harness.NewSigningKey(t)
	configs := []string{
		filepath.Join(harness.Root, "config", "examples", "common.yaml"),
		filepath.Join(harness.Root, "config", "examples", "elasticsearch.yaml"),
	}
	const n = 20
	cli := filepath.Join(t.TempDir(), "policyaudit")
	build := exec.Command("go", "build", "-o", cli, "../../cmd/policyaudit")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)

	// A record whose correlation ID holds another's words: the phrase
	// clause of verify's query matches it on a text field.
	lookalike := func(ns string) string {
		return fmt.Sprintf(`{"event_id":"x-%[1]s-7","request_id":"x-%[1]s-req-7","created_at":"2026-01-16T07:07:07.007Z","policy_id":"policy-0","policy_version":"v0","decision":"deny","user":"u","model":"m"}`+"\n", ns)
	}
	run := func(ns, wantType string, wantSubs map[string]string, wantIndex *regexp.Regexp) {
		t.Helper()
		env := []string{key.Env(), "POLICYAUDIT_RECEIVER_TOKEN=" + harness.ReceiverToken,
			"ELASTICSEARCH_ENDPOINT=" + es.URL, "ELASTICSEARCH_API_KEY=" + harness.ESKey, "ELASTICSEARCH_NAMESPACE=" + ns}
		c := harness.StartCollector(t, env, configs...)
		stream := "logs-policy_gateway.audit-" + ns
		postTo(t, c, "/v1/decisions", append(harness.Decisions(ns, 0, n), lookalike(ns)...))
		require.Eventually(t, func() bool { return len(es.DocsOrNil(stream)) == n+1 }, time.Minute, 500*time.Millisecond, "%s", c.Log)
		for _, doc := range es.Docs(t, stream) {
			assert.Equal(t, doc.Source["policy"].(map[string]any)["event_id"], doc.ID, "_id = event_id")
			assert.Regexp(t, wantIndex, doc.Index)
		}
		typ, subs := fieldType(t, es, stream, "policy.correlation_id")
		assert.Equal(t, wantType, typ, "policy.correlation_id in %s", stream)
		assert.Equal(t, wantSubs, subs, "policy.correlation_id's sub-fields in %s", stream)

		cid := ns + "-req-7"
		verify := exec.Command(cli, "verify", "--correlation-id", cid, "--config", configs[0], "--config", configs[1])
		verify.Env = append(os.Environ(), env...)
		out, err := verify.CombinedOutput()
		require.NoError(t, err, "verify --correlation-id %s (%s):\n%s", cid, wantType, out)
		assert.Regexp(t, `durable/elasticsearch\s+found\s+\S+/_doc/`+ns+`-7 `, string(out))
		assert.Equal(t, 1, strings.Count(string(out), "/_doc/"), "the look-alike x-%s is not reported:\n%s", cid, out)
		t.Logf("%s (policy.correlation_id %s %v): verify --correlation-id %s:\n%s", stream, typ, subs, cid, out)
		c.Stop(t)
	}

	// A bare node: plain indices, dynamic mapping.
	run("bare", "text", map[string]string{"keyword": "keyword"}, regexp.MustCompile(`^logs-policy_gateway\.audit-bare$`))

	// Someone's template maps the identifier as text, no keyword sub-field.
	es.Do(t, http.MethodPut, "/_index_template/someone-else", map[string]any{
		"index_patterns": []string{"logs-policy_gateway.audit-text"}, "priority": 300,
		"template": map[string]any{"mappings": map[string]any{"properties": map[string]any{
			"policy": map[string]any{"properties": map[string]any{"correlation_id": map[string]any{"type": "text"}}},
		}}},
	})
	run("text", "text", map[string]string{}, regexp.MustCompile(`^logs-policy_gateway\.audit-text$`))

	// deploy/elasticsearch's template, installed with its README's command.
	install := exec.Command("bash", "-euo", "pipefail", "-c", readmeInstall(t))
	install.Dir = harness.Root
	install.Env = append(os.Environ(), "ELASTICSEARCH_ENDPOINT="+es.URL, "ELASTICSEARCH_API_KEY="+harness.ESKey)
	var stderr bytes.Buffer
	install.Stderr = &stderr
	answer, err := install.Output()
	require.NoError(t, err, "the README's install command: %s%s", answer, &stderr)
	assert.JSONEq(t, `{"acknowledged":true}`, string(answer))
	run("default", "keyword", map[string]string{}, backingIndex("logs-policy_gateway.audit-default"))
}
