// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/policyaudit/policyaudit/internal/ocsf/ocsftest"
	"github.com/policyaudit/policyaudit/internal/testfixtures"
)

// normalize prints what the receiver and processor make of a payload: the
// golden records of each fixture, from a file or standard input.
func TestNormalizePrintsTheGoldenRecords(t *testing.T) {
	for fixture, dialect := range map[string]string{
		"litellm-calls.ndjson": "litellm", "litellm-audit.ndjson": "litellm",
		"gateway-flat.ndjson": "decisions", "admin-audit.ndjson": "audit", "opa-decision-logs.json": "opa",
		"kong-http-log.json": "kong",
	} {
		t.Run(fixture, func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join(testfixtures.Root, "testdata", "expected", strings.TrimSuffix(fixture, filepath.Ext(fixture))+".jsonl"))
			require.NoError(t, err)
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), []string{"normalize", "--dialect", dialect, filepath.Join(testfixtures.Dir, fixture)}, &stdout, &stderr)
			require.Equal(t, 0, code, stderr.String())
			assert.Equal(t, string(want), stdout.String())
		})
	}
	var stdout, stderr bytes.Buffer
	code := normalize([]string{"--dialect", "decisions"}, strings.NewReader(`{"policy_id":"p","created_at":"2026-11-23T08:00:00Z","decision":"allow","correlation_id":"c"}`), &stdout, &stderr)
	require.Equal(t, 0, code, stderr.String())
	assert.Contains(t, stdout.String(), `"decision":"allow"`)
}

// A payload the receiver would refuse is refused with the receiver's words.
func TestNormalizeRefusesWhatTheReceiverRefuses(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := normalize([]string{"--dialect", "litellm"}, strings.NewReader(`{"litellm_call_id":"c","startTime":1795420800,"guardrail_information":[{"guardrail_name":"g","guardrail_status":"perhaps"}]}`), &stdout, &stderr)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr.String(), "guardrail_information[0].guardrail_status")
	assert.Empty(t, stdout.String())
	assert.Equal(t, 2, normalize([]string{"--dialect", "kong-someday"}, strings.NewReader("{}"), &stdout, &stderr))
}

// With -ocsf, each record is printed as its OCSF event (and an enforced
// deny's or escalation's finding), valid against the schema.
func TestNormalizePrintsOCSF(t *testing.T) {
	schema, err := ocsftest.Load(filepath.Join(testfixtures.Root, "internal", "ocsf", "testdata", "ocsf-schema.json"))
	require.NoError(t, err)
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"normalize", "-ocsf", "--dialect", "decisions", filepath.Join(testfixtures.Dir, "router-verdicts.json")}, &stdout, &stderr)
	require.Equal(t, 0, code, stderr.String())
	classes := map[any]int{}
	dec := json.NewDecoder(&stdout)
	for dec.More() {
		var ev map[string]any
		require.NoError(t, dec.Decode(&ev))
		raw := ocsftest.Integers(ev).(map[string]any)
		assert.Empty(t, schema.Validate(raw))
		classes[raw["class_uid"]]++
	}
	assert.Positive(t, classes[int64(6003)])
	assert.Positive(t, classes[int64(2004)], "the deny's finding")
}
