// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package policydecisionprocessor

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/golden"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/plogtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/policyaudit/policyaudit/internal/jsonbody"
	"github.com/policyaudit/policyaudit/internal/pdatajson"
	"github.com/policyaudit/policyaudit/internal/plogutil"
	"github.com/policyaudit/policyaudit/processor/policydecisionprocessor/internal/metadatatest"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

const fixtureDir = "../../testdata/fixtures"

// fixtureLogs turns a fixture into the logs an OTLP or filelog receiver
// delivers: one log record per record, its body the record as JSON text.
func fixtureLogs(t *testing.T, name string) plog.Logs {
	t.Helper()
	body, err := os.ReadFile(filepath.Join(fixtureDir, name))
	require.NoError(t, err)
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "llm-gateway")
	sl := rl.ScopeLogs().AppendEmpty()
	require.NoError(t, jsonbody.Split(body, false, jsonbody.DefaultLimits, func(_ jsonbody.Position, obj jsonbody.Value) error {
		b, err := json.Marshal(obj.Interface())
		require.NoError(t, err)
		sl.LogRecords().AppendEmpty().Body().SetStr(string(b))
		return nil
	}))
	return ld
}

func runProcessor(t *testing.T, cfg *Config, ld plog.Logs) (plog.Logs, *componenttest.Telemetry) {
	t.Helper()
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	sink := new(consumertest.LogsSink)
	set := metadatatest.NewSettings(tel)
	p, err := NewFactory().CreateLogs(context.Background(), set, cfg, sink)
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, p.ConsumeLogs(context.Background(), ld))
	require.NoError(t, p.Shutdown(context.Background()))
	all := sink.AllLogs()
	if len(all) == 0 {
		return plog.NewLogs(), tel
	}
	require.Len(t, all, 1)
	return all[0], tel
}

// bodies are the JSON lines the jsonl_encoding extension would write.
func bodies(ld plog.Logs) []string {
	var out []string
	plogutil.Each(ld, func(lr plog.LogRecord) {
		out = append(out, string(pdatajson.AppendValue(nil, lr.Body())))
	})
	return out
}

func TestFixturesGolden(t *testing.T) {
	for _, name := range []string{"gateway-flat.ndjson", "router-verdicts.json", "admin-audit.ndjson", "opa-decision-logs.json", "gateway-usage.ndjson"} {
		t.Run(name, func(t *testing.T) {
			got, _ := runProcessor(t, createDefaultConfig(), fixtureLogs(t, name))
			path := filepath.Join("testdata", strings.TrimSuffix(name, filepath.Ext(name))+".yaml")
			if *update {
				require.NoError(t, golden.WriteLogs(t, path, got))
			}
			want, err := golden.ReadLogs(path)
			require.NoError(t, err)
			require.NoError(t, plogtest.CompareLogs(want, got, plogtest.IgnoreObservedTimestamp()))

			// The same canonical records as the receiver path produces.
			expected, err := os.ReadFile(filepath.Join("../../testdata/expected", strings.TrimSuffix(name, filepath.Ext(name))+".jsonl"))
			require.NoError(t, err)
			assert.ElementsMatch(t, strings.Split(strings.TrimSpace(string(expected)), "\n"), bodies(got))

		})
	}
}
