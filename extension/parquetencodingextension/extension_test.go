// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package parquetencodingextension

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/confmap/xconfmap"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/policyaudit/policyaudit/extension/parquetencodingextension/internal/metadata"
	"github.com/policyaudit/policyaudit/internal/ocsf"
	"github.com/policyaudit/policyaudit/internal/pdatajson"
	"github.com/policyaudit/policyaudit/internal/record"
)

func TestConfig(t *testing.T) {
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	load := func(name string) *Config {
		sub, err := cm.Sub(component.NewIDWithName(metadata.Type, name).String())
		require.NoError(t, err)
		cfg := createDefaultConfig().(*Config)
		require.NoError(t, sub.Unmarshal(cfg))
		return cfg
	}
	assert.Equal(t, "zstd", load("").Compression)
	assert.NoError(t, xconfmap.Validate(load("snappy")))
	assert.EqualError(t, xconfmap.Validate(load("bad")), `compression: "lzo" is not one of zstd, snappy, gzip, none`)
}

// ocsfLogs is one log record an OCSF event of every shape the mapping
// writes: each verdict enforced and in shadow, a finding, admin events.
func ocsfLogs(t *testing.T) plog.Logs {
	t.Helper()
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	p := ocsf.Product{Name: "policyaudit", Vendor: "policyaudit", Version: "test"}
	add := func(rec *record.Record, finding bool) {
		canonical := pcommon.NewMap()
		rec.CopyTo(canonical)
		ocsf.Event(rec, canonical, p, lrs.AppendEmpty().Body().SetEmptyMap())
		if finding {
			ocsf.Finding(rec, canonical, p, lrs.AppendEmpty().Body().SetEmptyMap())
		}
	}
	at := time.Date(2026, 1, 16, 18, 22, 11, 250e6, time.UTC)
	for i, verdict := range []string{"allow", "deny", "modify", "redact", "escalate"} {
		for _, enforced := range []bool{true, false} {
			rec := &record.Record{Kind: record.KindDecision, EventID: "e" + verdict, CorrelationID: "req-" + verdict, CreatedAt: at.Add(time.Duration(i) * time.Second),
				TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", Decision: verdict, EffectiveDecision: verdict, RolloutMode: "enforced", Enforced: enforced,
				ReasonCode: "R", PolicyID: "p", PolicyVersion: "v1", PolicyUser: "u", APIKeyID: "k", ProjectID: "proj", PolicyTarget: "chat.completions",
				Model: "m", Provider: "openai", TriggeredCategories: []string{"c"}, DenylistHits: []string{"d"}, AllowlistHits: []string{},
				Extra: map[string]any{"n": int64(1), "nested": map[string]any{"k": "v"}}}
			if !enforced {
				rec.RolloutMode, rec.EffectiveDecision = "shadow", "allow"
			}
			add(rec, ocsf.WantsFinding(rec))
		}
	}
	for _, action := range []string{"policy.update", "key.revoke"} {
		add(&record.Record{Kind: record.KindAdmin, EventID: "a-" + action, CorrelationID: "c", CreatedAt: at,
			Actor: record.Actor{ID: "alice", Type: "user", IP: "203.0.113.7"}, Action: action,
			Resource: record.Resource{Type: "policy", ID: "p"}, Outcome: "success", PolicyID: "p", PolicyVersion: "v2",
			Details: map[string]any{"reason": "tighten"}}, false)
	}
	return ld
}

// withoutNulls removes nulls and empty lists: what a Parquet row holds of
// an attribute the event leaves out.
func withoutNulls(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range t {
			if e = withoutNulls(e); e != nil {
				out[k] = e
			}
		}
		return out
	case []any:
		if len(t) == 0 {
			return nil
		}
		for i := range t {
			t[i] = withoutNulls(t[i])
		}
	}
	return v
}

// Every event reads back from the Parquet file as it was written.
func TestEveryEventRoundTrips(t *testing.T) {
	ld := ocsfLogs(t)
	enc := newParquetEncoding(createDefaultConfig().(*Config))
	b, err := enc.MarshalLogs(ld)
	require.NoError(t, err)
	rows, err := parquet.Read[ocsf.EventRow](bytes.NewReader(b), int64(len(b)))
	require.NoError(t, err)
	require.Len(t, rows, ld.LogRecordCount())
	lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	for i, row := range rows {
		got, err := json.Marshal(row)
		require.NoError(t, err)
		var gotMap, wantMap map[string]any
		require.NoError(t, json.Unmarshal(got, &gotMap))
		// unmapped comes back as the JSON text of its column (the row's
		// pcommon.Map has nothing for encoding/json to see).
		delete(gotMap, "unmapped")
		if row.UnmappedJSON != nil {
			var um any
			require.NoError(t, json.Unmarshal(row.UnmappedJSON, &um))
			gotMap["unmapped"] = um
		}
		require.NoError(t, json.Unmarshal(pdatajson.AppendValue(nil, lrs.At(i).Body()), &wantMap))
		assert.Equal(t, withoutNulls(wantMap), withoutNulls(gotMap), "row %d", i)
	}
}

// The Parquet schema is the one the files have always had (the extension's
// own copy of the row types made it, before they moved to internal/ocsf):
// DuckDB, Athena and Security Lake read these columns by name and type.
func TestSchemaUnchanged(t *testing.T) {
	want, err := os.ReadFile(filepath.Join("testdata", "schema.txt"))
	require.NoError(t, err)
	assert.Equal(t, string(want), eventSchema.String())
}

// The columns carry OCSF's types.
func TestColumnTypes(t *testing.T) {
	b, err := newParquetEncoding(createDefaultConfig().(*Config)).MarshalLogs(ocsfLogs(t))
	require.NoError(t, err)
	f, err := parquet.OpenFile(bytes.NewReader(b), int64(len(b)))
	require.NoError(t, err)
	for path, want := range map[string]string{
		"class_uid":                 "INT32 INT",
		"type_uid":                  "INT64 INT",
		"time":                      "INT64 TIMESTAMP",
		"is_alert":                  "BOOLEAN",
		"metadata.uid":              "BYTE_ARRAY STRING",
		"unmapped":                  "BYTE_ARRAY JSON",
		"finding_info.created_time": "INT64 TIMESTAMP",
	} {
		col, ok := f.Schema().Lookup(splitPath(path)...)
		require.True(t, ok, path)
		typ := col.Node.Type()
		got := typ.Kind().String()
		if lt := typ.LogicalType(); lt != nil {
			got += " " + logicalName(lt.String())
		}
		assert.Equal(t, want, got, path)
	}
}

func splitPath(p string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(p); i++ {
		if i == len(p) || p[i] == '.' {
			out = append(out, p[start:i])
			start = i + 1
		}
	}
	return out
}

// logicalName is "TIMESTAMP" of "TIMESTAMP(isAdjustedToUTC=true,unit=MILLIS)".
func logicalName(s string) string {
	for i, c := range s {
		if c == '(' {
			return s[:i]
		}
	}
	return s
}

// A body that is not an OCSF event is refused, permanently, and named.
func TestACanonicalRecordIsRefused(t *testing.T) {
	ld := plog.NewLogs()
	body := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetEmptyMap()
	body.PutStr("event_id", "e")
	body.PutStr("decision", "deny")
	_, err := newParquetEncoding(createDefaultConfig().(*Config)).MarshalLogs(ld)
	require.Error(t, err)
	assert.True(t, consumererror.IsPermanent(err))
	assert.ErrorContains(t, err, `unknown field "event_id"`)
}

// So is an OCSF event with a value of another type than its column's, at
// any depth, named by its path and its record.
func TestAWrongTypeIsRefused(t *testing.T) {
	ld := ocsfLogs(t)
	lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	md, _ := lrs.At(2).Body().Map().Get("metadata")
	md.Map().PutInt("version", 18)
	_, err := newParquetEncoding(createDefaultConfig().(*Config)).MarshalLogs(ld)
	require.Error(t, err)
	assert.True(t, consumererror.IsPermanent(err))
	assert.ErrorContains(t, err, "log record 2 is not an OCSF event of destination ocsf: metadata.version: int where OCSF has a string")
}
