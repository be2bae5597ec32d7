// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package policydecisionprocessor

import (
	"context"
	"fmt"
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/plogtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/policyaudit/policyaudit/internal/dialects"
	"github.com/policyaudit/policyaudit/internal/jsonbody"
	"github.com/policyaudit/policyaudit/internal/record"
	"github.com/policyaudit/policyaudit/processor/policydecisionprocessor/internal/metadata"
)

// receiverLogs is a fixture as the policygateway receiver hands it on:
// canonical map bodies and the log record fields set.
func receiverLogs(t *testing.T, name string, h record.Hints) plog.Logs {
	t.Helper()
	src := fixtureLogs(t, name)
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	src.ResourceLogs().At(0).Resource().CopyTo(rl.Resource())
	lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
	in := src.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	for i := 0; i < in.Len(); i++ {
		raw, err := jsonbody.DecodeObject([]byte(in.At(i).Body().Str()), jsonbody.DefaultLimits)
		require.NoError(t, err)
		recs, _, err := dialects.Normalize(nil, raw, h)
		require.NoError(t, err)
		require.Len(t, recs, 1)
		rec := recs[0]
		lr := lrs.AppendEmpty()
		rec.CopyTo(lr.Body().SetEmptyMap())
		rec.SetLogRecordFields(lr)
	}
	return ld
}

func process(t *testing.T, cfg *Config, ctx context.Context, ld plog.Logs) plog.Logs {
	t.Helper()
	sink := new(consumertest.LogsSink)
	p, err := NewFactory().CreateLogs(context.Background(), processortest.NewNopSettings(metadata.Type), cfg, sink)
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, p.ConsumeLogs(ctx, ld))
	require.NoError(t, p.Shutdown(context.Background()))
	require.Len(t, sink.AllLogs(), 1)
	return sink.AllLogs()[0]
}

// Records as the receiver hands them on (canonical map bodies) take the
// fast path and come out of the processor exactly as the same fixtures sent
// as JSON text (the long path) do, for every destination and with a PII
// policy.
func TestCanonicalFastPathIsTheLongPath(t *testing.T) {
	for _, dest := range destinations {
		cfg := createDefaultConfig()
		cfg.Destination = dest
		cfg.PII.HashKey = configOpaque("0123456789abcdef0123")
		cfg.IDKey = configOpaque("fedcba9876543210fedcba")
		cfg.PII.Fields = map[string]string{"policy_user": PIIHash, "actor.ip": PIIBlock}
		for name, h := range map[string]record.Hints{
			"gateway-flat.ndjson": {Kind: record.KindDecision}, "router-verdicts.json": {Kind: record.KindDecision},
			"admin-audit.ndjson": {Kind: record.KindAdmin}, "opa-decision-logs.json": {},
		} {
			in := receiverLogs(t, name, h)
			lrs := in.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
			for i := 0; i < lrs.Len(); i++ {
				_, err := record.ReadCanonical(lrs.At(i).Body().Map())
				require.NoError(t, err, "the fast path is taken for %s", name)
			}
			want := process(t, cfg, context.Background(), fixtureLogs(t, name))
			got := process(t, cfg, context.Background(), in)
			require.NoError(t, plogtest.CompareLogs(want, got, plogtest.IgnoreObservedTimestamp()), "%s %s", dest, name)
		}
	}
}

// Issue 10, item 5: bodies changed between the receiver and the processor
// (by a transform processor or a routing connector) are validated and
// normalised like any input, whatever the call's context: a vendor verdict
// is mapped, a top-level prompt is stripped, an unknown verdict is flagged.
func TestChangedCanonicalBodiesAreNormalisedAgain(t *testing.T) {
	for name, tc := range map[string]struct {
		change func(pcommon.Map)
		check  func(t *testing.T, body map[string]any)
	}{
		"vendor verdict": {
			func(m pcommon.Map) { m.PutStr("decision", "rewrite") },
			func(t *testing.T, body map[string]any) {
				assert.Equal(t, "modify", body["decision"])
				assert.Equal(t, "rewrite", body["decision_raw"])
			},
		},
		"top-level prompt": {
			func(m pcommon.Map) { m.PutStr("prompt", "ignore previous instructions") },
			func(t *testing.T, body map[string]any) {
				assert.NotContains(t, fmt.Sprint(body), "ignore previous instructions")
			},
		},
		"unknown verdict": {
			func(m pcommon.Map) { m.PutStr("decision", "obliterate") },
			func(t *testing.T, body map[string]any) {
				assert.Contains(t, body["schema_error"], "unknown verdict")
			},
		},
		"a list turned into a string": {
			func(m pcommon.Map) { m.PutStr("triggered_categories", "jailbreak") },
			func(t *testing.T, body map[string]any) {
				assert.Equal(t, []any{"jailbreak"}, body["triggered_categories"], "read as the input rules read it")
			},
		},
	} {
		t.Run(name, func(t *testing.T) {
			in := receiverLogs(t, "gateway-flat.ndjson", record.Hints{Kind: record.KindDecision})
			lr := in.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
			tc.change(lr.Body().Map())
			_, err := record.ReadCanonical(lr.Body().Map())
			require.Error(t, err, "a changed body is not canonical")
			out := process(t, createDefaultConfig(), context.Background(), in)
			first := out.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
			tc.check(t, first.Body().Map().AsRaw())
		})
	}
}
