// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/policyaudit/policyaudit/internal/ocsf/ocsftest"
	"github.com/policyaudit/policyaudit/test/harness"
)

// The OCSF example against a real S3 implementation: every fixture record
// arrives as a schema-valid OCSF 1.8.0 event in the JSON lines objects, and
// as a row of the Parquet objects in Security Lake's layout, one custom
// source per class, which DuckDB reads back with OCSF's types and finds by
// metadata.correlation_uid.
func TestOCSFExampleToS3AsJSONLinesAndParquet(t *testing.T) {
	s3 := harness.StartS3(t)
	key := harness.NewSigningKey(t)
	for _, bucket := range []string{"policy-audit", "security-lake"} {
		_, err := s3.AWS(t, "s3api", "create-bucket", "--bucket", bucket)
		require.NoError(t, err)
	}
	env := append([]string{
		"POLICYAUDIT_RECEIVER_TOKEN=receiver-token",
		"POLICYAUDIT_S3_BUCKET=policy-audit",
		"POLICYAUDIT_SECURITY_LAKE_BUCKET=security-lake",
		"POLICYAUDIT_AWS_ACCOUNT_ID=123456789012",
		"POLICYAUDIT_S3_ENDPOINT=" + s3.Endpoint,
		"POLICYAUDIT_STORAGE_DIR=" + t.TempDir(),
		"POLICYAUDIT_S3_DIGEST_INTERVAL=1s",
		key.Env(),
	}, s3.Env...)
	examples := filepath.Join(harness.Root, "config", "examples")
	c := harness.StartCollector(t, env, filepath.Join(examples, "common.yaml"), filepath.Join(examples, "ocsf.yaml"))
	harness.PostFixtures(t, c.URL, "receiver-token")

	want, schema := fixtureCorrelationIDs(t), ocsfSchema(t)
	jsonDir := t.TempDir()
	var events []map[string]any
	require.Eventually(t, func() bool {
		if _, err := s3.AWS(t, "s3", "cp", "--recursive", "--quiet", "s3://policy-audit/", jsonDir); err != nil {
			return false
		}
		events = readOCSFLines(t, jsonDir)
		return len(correlationIDs(events)) >= len(want)
	}, 60*time.Second, time.Second, "the OCSF events did not reach S3:\n%s", c.Log)
	assert.Equal(t, want, correlationIDs(events), "every fixture record, as OCSF")
	for _, ev := range events {
		assert.Empty(t, schema.Validate(ev), "not valid OCSF: %v", ev)
	}

	lakeDir := t.TempDir()
	glob := filepath.Join(lakeDir, "ext", "*", "region=*", "accountId=*", "eventDay=*", "*.parquet")
	require.Eventually(t, func() bool {
		if _, err := s3.AWS(t, "s3", "cp", "--recursive", "--quiet", "s3://security-lake/", lakeDir); err != nil {
			return false
		}
		files, _ := filepath.Glob(glob)
		return len(files) > 0 && strings.Count(sqlQuery(t, glob, `SELECT DISTINCT metadata.correlation_uid AS c FROM records`), `"c"`) >= len(want)
	}, 60*time.Second, time.Second, "the Parquet objects did not reach the Security Lake bucket:\n%s", c.Log)

	// Each fixture's correlation ID finds its events.
	var rows []struct {
		C string `json:"c"`
	}
	require.NoError(t, json.Unmarshal([]byte(sqlQuery(t, glob, `SELECT DISTINCT metadata.correlation_uid AS c FROM records ORDER BY 1`)), &rows))
	got := map[string]bool{}
	for _, r := range rows {
		got[r.C] = true
	}
	assert.Equal(t, want, got)
	for cid := range want {
		out := sqlQuery(t, glob, `SELECT count(*) AS n FROM records WHERE metadata.correlation_uid = '`+strings.ReplaceAll(cid, "'", "''")+`'`)
		assert.NotContains(t, out, `"n":"0"`, cid)
	}

	// One custom source per class, and OCSF's types as Parquet types.
	assert.JSONEq(t, `[{"source":"policyaudit_api_activity","class_uid":6003},{"source":"policyaudit_detection_finding","class_uid":2004},{"source":"policyaudit_entity_management","class_uid":3004}]`,
		sqlQuery(t, glob, `SELECT DISTINCT split_part(filename, '/ext/', 2).split('/')[1] AS source, class_uid FROM read_parquet('`+glob+`', filename = true) ORDER BY 1`))
	// The Parquet objects are in the signed digests: the trail verifies, and
	// a rewritten object is named.
	lake := []string{"--bucket", "security-lake", "--prefix", "ext", "--digest-prefix", "policyaudit-digests/security-lake"}
	var out string
	require.Eventually(t, func() bool {
		var code int
		code, out = verifyS3Trail(t, s3, lake, key.PublicKeyFile)
		return code == 0 && !strings.Contains(out, "not covered")
	}, 30*time.Second, time.Second, "the Parquet trail does not verify")
	assert.Regexp(t, `ok: \d+ digests from .* every signature and hash verified`, out)
	files, _ := filepath.Glob(glob)
	rel, err := filepath.Rel(lakeDir, files[0])
	require.NoError(t, err)
	_, err = s3.AWS(t, "s3", "cp", "-", "s3://security-lake/"+filepath.ToSlash(rel))
	require.NoError(t, err)
	code, out := verifyS3Trail(t, s3, lake, key.PublicKeyFile)
	assert.Equal(t, 1, code, out)
	assert.Contains(t, out, filepath.ToSlash(rel)+", listed in digest")

	assert.JSONEq(t, `[{"time":"TIMESTAMP WITH TIME ZONE","class_uid":"INTEGER","type_uid":"BIGINT","is_alert":"BOOLEAN","uid":"VARCHAR"}]`,
		sqlQuery(t, glob, `SELECT typeof(time) AS time, typeof(class_uid) AS class_uid, typeof(type_uid) AS type_uid, typeof(is_alert) AS is_alert, typeof(metadata.uid) AS uid FROM records LIMIT 1`))
}

// readOCSFLines reads every event of the gzip JSON lines objects under dir
// (not the digests).
func readOCSFLines(t *testing.T, dir string) []map[string]any {
	t.Helper()
	var events []map[string]any
	_ = filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || !strings.HasSuffix(path, ".jsonl.gz") || strings.Contains(path, "_digest") {
			return err
		}
		f, err := os.Open(path)
		require.NoError(t, err)
		defer f.Close()
		zr, err := gzip.NewReader(f)
		require.NoError(t, err)
		raw, err := io.ReadAll(zr)
		require.NoError(t, err)
		dec := json.NewDecoder(strings.NewReader(string(raw)))
		dec.UseNumber()
		for dec.More() {
			var ev map[string]any
			require.NoError(t, dec.Decode(&ev))
			events = append(events, ocsftest.Integers(ev).(map[string]any))
		}
		return nil
	})
	return events
}

// fixtureCorrelationIDs are the correlation IDs of every fixture record
// PostFixtures sends, from their canonical records.
func fixtureCorrelationIDs(t *testing.T) map[string]bool {
	t.Helper()
	want := map[string]bool{}
	for _, line := range harness.Expected(t, harness.AllFixtureRecords...) {
		want[harness.Decode(t, line)["correlation_id"].(string)] = true
	}
	return want
}

func ocsfSchema(t *testing.T) *ocsftest.Schema {
	t.Helper()
	schema, err := ocsftest.Load(filepath.Join(harness.Root, "internal", "ocsf", "testdata", "ocsf-schema.json"))
	require.NoError(t, err)
	return schema
}

func correlationIDs(events []map[string]any) map[string]bool {
	out := map[string]bool{}
	for _, ev := range events {
		if md, ok := ev["metadata"].(map[string]any); ok {
			if cid, ok := md["correlation_uid"].(string); ok {
				out[cid] = true
			}
		}
	}
	return out
}

// The Splunk example with POLICYAUDIT_SPLUNK_SHAPE=ocsf, against a real HEC
// endpoint: every fixture record arrives as a valid OCSF event under the
// sourcetype naming its class, with only the class and type as indexed
// fields, and each enforced deny its Detection Finding.
func TestSplunkExampleInOCSF(t *testing.T) {
	hec := harness.StartHECPeer(t, "hec-token")
	env := []string{
		"POLICYAUDIT_RECEIVER_TOKEN=receiver-token",
		"SPLUNK_HEC_ENDPOINT=" + hec.Endpoint,
		"SPLUNK_HEC_TOKEN=hec-token",
		"POLICYAUDIT_SPLUNK_SHAPE=ocsf",
		"POLICYAUDIT_STORAGE_DIR=" + t.TempDir(),
	}
	examples := filepath.Join(harness.Root, "config", "examples")
	c := harness.StartCollector(t, env, filepath.Join(examples, "common.yaml"), filepath.Join(examples, "splunk.yaml"))
	harness.PostFixtures(t, c.URL, "receiver-token")

	want, schema := fixtureCorrelationIDs(t), ocsfSchema(t)
	var events []harness.HECEvent
	require.Eventually(t, func() bool {
		events = hec.Events(t)
		got := map[string]bool{}
		for _, e := range events {
			if md, ok := e.Event["metadata"].(map[string]any); ok {
				got[md["correlation_uid"].(string)] = true
			}
		}
		return len(got) >= len(want)
	}, 60*time.Second, 500*time.Millisecond, "the events did not reach HEC:\n%s", c.Log)

	sourcetypes := map[string]int{}
	for _, e := range events {
		ev := ocsftest.Integers(e.Event).(map[string]any)
		assert.Empty(t, schema.Validate(ev), "not valid OCSF: %v", ev)
		st, _ := e.Resource["com.splunk.sourcetype"].(string)
		sourcetypes[st]++
		assert.Equal(t, ev["class_uid"], ocsftest.Integers(e.Fields["ocsf.class_uid"]))
		for k := range e.Fields {
			// The HEC exporter adds the log record's trace context to any record.
			assert.Contains(t, []string{"ocsf.class_uid", "ocsf.type_uid", "trace_id", "span_id"}, k, "only the class and type are indexed")
		}
		assert.Equal(t, "ocsf:"+map[int64]string{6003: "api_activity", 3004: "entity_management", 2004: "detection_finding"}[ev["class_uid"].(int64)], st)
	}
	assert.Positive(t, sourcetypes["ocsf:api_activity"])
	assert.Positive(t, sourcetypes["ocsf:entity_management"])
	assert.Positive(t, sourcetypes["ocsf:detection_finding"])
}
