package policydecisionprocessor

import (
	"context"
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/plogtest"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/policyaudit/policyaudit/internal/canonicalmark"
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
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	in := src.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	for i := 0; i < in.Len(); i++ {
		raw, err := jsonbody.DecodeObject([]byte(in.At(i).Body().Str()), jsonbody.DefaultLimits)
		require.NoError(t, err)
		var rec *record.Record
		if h.Kind == record.KindUnknown && raw["decision_id"] != nil {
			rec, err = record.NormalizeOPA(raw)
		} else {
			rec, err = record.Normalize(raw, h)
		}
		require.NoError(t, err)
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

// Records the receiver marks as canonical come out of the processor exactly
// as they would after a second normalisation, for every destination and
// with a PII policy.
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
				_, err := record.ReadHeader(lrs.At(i).Body().Map())
				require.NoError(t, err, "the fast path is taken for %s", name)
			}
			long := plog.NewLogs()
			in.CopyTo(long)
			want := process(t, cfg, context.Background(), long)
			got := process(t, cfg, canonicalmark.Mark(context.Background()), in)
			require.NoError(t, plogtest.CompareLogs(want, got, plogtest.IgnoreObservedTimestamp()), "%s %s", dest, name)
		}
	}
}
