// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package policydecisionprocessor

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/policyaudit/policyaudit/internal/dialect/kong"
	"github.com/policyaudit/policyaudit/internal/dialect/litellm"
	"github.com/policyaudit/policyaudit/internal/jsonbody"
	"github.com/policyaudit/policyaudit/internal/plogutil"
	"github.com/policyaudit/policyaudit/internal/record"
	"github.com/policyaudit/policyaudit/processor/policydecisionprocessor/internal/metadatatest"
)

// oneRecord builds logs holding one record, its body a map or JSON text.
func oneRecord(body string) plog.Logs {
	ld := plog.NewLogs()
	ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetStr(body)
	return ld
}

func firstRecord(t *testing.T, ld plog.Logs) plog.LogRecord {
	t.Helper()
	require.Equal(t, 1, ld.LogRecordCount())
	return ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
}

func TestTelemetryCountsByKindDecisionAndGeneratedIDs(t *testing.T) {
	_, tel := runProcessor(t, createDefaultConfig(), fixtureLogs(t, "gateway-flat.ndjson"))
	dp := func(n int64, kv ...string) metricdata.DataPoint[int64] {
		var attrs []attribute.KeyValue
		for i := 0; i < len(kv); i += 2 {
			attrs = append(attrs, attribute.String(kv[i], kv[i+1]))
		}
		return metricdata.DataPoint[int64]{Value: n, Attributes: attribute.NewSet(attrs...)}
	}
	opts := []metricdatatest.Option{metricdatatest.IgnoreTimestamp()}
	metadatatest.AssertEqualProcessorPolicydecisionRecords(t, tel, []metricdata.DataPoint[int64]{
		dp(1, "event_kind", "policy_decision", "decision", "modify"),
		dp(1, "event_kind", "policy_decision", "decision", "allow"),
		dp(1, "event_kind", "policy_decision", "decision", "redact"),
		dp(1, "event_kind", "policy_decision", "decision", "deny"),
		dp(1, "event_kind", "policy_decision", "decision", "escalate"),
	}, opts...)
	// The seed line and the canary line carry no correlation source.
	metadatatest.AssertEqualProcessorPolicydecisionCorrelationIdsGenerated(t, tel, []metricdata.DataPoint[int64]{dp(2)}, opts...)
	metadatatest.AssertEqualProcessorPolicydecisionUnknownPolicyVersions(t, tel, []metricdata.DataPoint[int64]{dp(4)}, opts...)
}

// The records at 23:59:59.900Z and at 00:00:00.100Z the next day arrive in one
// batch and leave in two resources, one per date partition.
func TestMidnightSplitsIntoDatePartitions(t *testing.T) {
	got, _ := runProcessor(t, createDefaultConfig(), fixtureLogs(t, "gateway-flat.ndjson"))
	perPartition := map[string]int{}
	for i := 0; i < got.ResourceLogs().Len(); i++ {
		rl := got.ResourceLogs().At(i)
		v, ok := rl.Resource().Attributes().Get("policyaudit.partition")
		require.True(t, ok)
		svc, _ := rl.Resource().Attributes().Get("service.name")
		assert.Equal(t, "llm-gateway", svc.Str(), "the source resource is kept")
		perPartition[v.Str()] += rl.ScopeLogs().At(0).LogRecords().Len()
	}
	assert.Equal(t, map[string]int{"date=2026-01-16": 3, "date=2026-01-17": 2}, perPartition)
}

func TestLogRecordFieldsFromTheCanonicalRecord(t *testing.T) {
	got, _ := runProcessor(t, createDefaultConfig(), oneRecord(
		`{"policy_id":"pii-shield","decision":"mask","created_at":"2026-01-16T23:59:59.900Z","traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01","user":"u1","model":"gpt-4o-mini"}`))
	lr := firstRecord(t, got)
	assert.Equal(t, "policy.decision", lr.EventName())
	assert.Equal(t, "2026-01-16T23:59:59.9Z", lr.Timestamp().AsTime().Format("2006-01-02T15:04:05.999Z07:00"))
	assert.NotZero(t, lr.ObservedTimestamp())
	tid := lr.TraceID()
	sid := lr.SpanID()
	assert.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", hex.EncodeToString(tid[:]))
	assert.Equal(t, "00f067aa0ba902b7", hex.EncodeToString(sid[:]))
	assert.Equal(t, map[string]any{
		"policy.id": "pii-shield", "policy.version": "unknown", "policy.decision": "redact",
		"policy.effective_decision": "redact", "policy.rollout_mode": "enforced",
		"correlation.id": "4bf92f3577b34da6a3ce929d0e0e4736", "user.id": "u1", "gen_ai.request.model": "gpt-4o-mini",
	}, lr.Attributes().AsRaw())
}

// An OTLP log record's own trace context is the correlation source when the
// body names none; a map body is read like JSON text.
func TestOTLPTraceContextAndMapBody(t *testing.T) {
	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	require.NoError(t, lr.Body().SetEmptyMap().FromRaw(map[string]any{"policy": "p1", "verdict": "Block", "ts": int64(1768608000)}))
	lr.SetTraceID(pcommon.TraceID{0x4b, 0xf9, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14})
	lr.SetSpanID(pcommon.SpanID{0, 0xf0, 1, 2, 3, 4, 5, 6})
	got, _ := runProcessor(t, createDefaultConfig(), ld)
	body := firstRecord(t, got).Body().Map().AsRaw()
	assert.Equal(t, "4bf90102030405060708090a0b0c0d0e", body["correlation_id"])
	assert.Equal(t, "4bf90102030405060708090a0b0c0d0e", body["trace_id"])
	assert.Equal(t, "00f0010203040506", body["span_id"])
	assert.Equal(t, "deny", body["decision"])
	assert.Equal(t, "Block", body["decision_raw"], "the vendor's own word, unchanged")
	assert.Equal(t, "BLOCK", body["reason_code"])
	assert.Equal(t, "2026-01-17T00:00:00.000Z", body["created_at"])
}

// A map body from OTLP can carry any bytes and any pdata type: invalid UTF-8
// becomes U+FFFD in keys and strings (as encoding/json decodes it), and what
// has no canonical field keeps its pdata type under extra.
func TestMapBodyTextAndTypes(t *testing.T) {
	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	require.NoError(t, lr.Body().SetEmptyMap().FromRaw(map[string]any{
		"policy_id": "p1", "decision": "allow", "created_at": 1768608000.25, "user": "al\xffice",
		"note\xfe": "x\xffy", "ratio": 3.0, "count": int64(7), "blob": []byte{0, 1, 0xff},
		"nested": map[string]any{"k\xff": []any{"v\xfe", 1.5}},
	}))
	got, _ := runProcessor(t, createDefaultConfig(), ld)
	body := firstRecord(t, got).Body().Map()
	assert.Equal(t, "2026-01-17T00:00:00.250Z", body.AsRaw()["created_at"])
	assert.Equal(t, "al\uFFFDice", body.AsRaw()["policy_user"])
	extra, ok := body.Get("extra")
	require.True(t, ok)
	assert.Equal(t, map[string]any{
		"note\uFFFD": "x\uFFFDy", "ratio": 3.0, "count": int64(7), "blob": []byte{0, 1, 0xff},
		"nested": map[string]any{"k\uFFFD": []any{"v\uFFFD", 1.5}},
	}, extra.Map().AsRaw())
	ratio, _ := extra.Map().Get("ratio")
	assert.Equal(t, pcommon.ValueTypeDouble, ratio.Type(), "a double stays a double")
}

func TestElasticsearchDocument(t *testing.T) {
	cfg := createDefaultConfig()
	cfg.Destination = DestinationElasticsearch
	cfg.Elastic.Namespace = "prod"
	got, _ := runProcessor(t, cfg, fixtureLogs(t, "admin-audit.ndjson"))
	doc := got.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Body().Map().AsRaw()
	assert.Equal(t, "2026-03-02T08:14:55.000Z", doc["@timestamp"])
	assert.Equal(t, map[string]any{"type": "logs", "dataset": "policy_gateway.admin", "namespace": "prod"}, doc["data_stream"])
	assert.Equal(t, map[string]any{"name": "policy-gateway"}, doc["service"])
	assert.Equal(t, map[string]any{"dataset": "policy_gateway.admin", "action": "policy.update"}, doc["event"])
	policy := doc["policy"].(map[string]any)
	assert.Equal(t, "admin_audit", policy["event_kind"])
	assert.Equal(t, "adm-0001", policy["correlation_id"])
}

func TestPIIModes(t *testing.T) {
	line := `{"created_at":"2026-03-02T08:14:55Z","request_id":"adm-1","actor":{"id":"carol@example.com","type":"user","ip":"203.0.113.7"},"action":"policy.update","resource":{"type":"policy","id":"p"},"details":{"reviewer":"dave@example.com","ticket":42},"email":"carol@example.com"}`
	run := func(key string, fields map[string]string) map[string]any {
		cfg := createDefaultConfig()
		cfg.PII.HashKey = configOpaque(key)
		cfg.IDKey = configOpaque("id-" + key)
		cfg.PII.Fields = fields
		require.NoError(t, cfg.Validate())
		got, _ := runProcessor(t, cfg, oneRecord(line))
		return firstRecord(t, got).Body().Map().AsRaw()
	}
	fields := map[string]string{"actor.id": PIIHash, "actor.ip": PIIRedact, "details": PIIHash, "extra.email": PIIBlock}
	a := run("key-one-0123456789", fields)
	actor := a["actor"].(map[string]any)
	assert.Regexp(t, `^hmac-sha256:[0-9a-f]{64}$`, actor["id"])
	assert.Equal(t, "[REDACTED]", actor["ip"])
	details := a["details"].(map[string]any)
	assert.Regexp(t, `^hmac-sha256:`, details["reviewer"])
	assert.Regexp(t, `^hmac-sha256:`, details["ticket"], "numbers are hashed as their text; the object keeps its shape")
	assert.NotContains(t, a, "extra", "the only extra field was blocked")

	// Stable for the same key (across restarts, across collectors) and
	// different under another key.
	assert.Equal(t, actor["id"], run("key-one-0123456789", fields)["actor"].(map[string]any)["id"])
	assert.NotEqual(t, actor["id"], run("key-two-0123456789", fields)["actor"].(map[string]any)["id"])

	// The same value hashes the same wherever it appears.
	b := run("key-one-0123456789", map[string]string{"extra.email": PIIHash})
	assert.Equal(t, actor["id"], b["extra"].(map[string]any)["email"])
	assert.Equal(t, "carol@example.com", b["actor"].(map[string]any)["id"], "fields without a rule are as given")
}

func TestSecretsNeverLeaveRaw(t *testing.T) {
	line := `{"policy_id":"p","decision":"allow","created_at":1768608000,"api_key_id":"sk-proj-4f9Qz7LmT2xV8bN1cR6yW3kH","note":"Bearer abcdefghijklmnopqrstuvwxyz012345","prompt":"tell me a secret"}`
	got, _ := runProcessor(t, createDefaultConfig(), oneRecord(line))
	body := firstRecord(t, got).Body().Map().AsRaw()
	assert.Equal(t, "[REDACTED]", body["api_key_id"], "without a hash key a secret is redacted")
	assert.Equal(t, map[string]any{"note": "[REDACTED]"}, body["extra"], "prompt text is removed unless body_logging is on")

	cfg := createDefaultConfig()
	cfg.PII.HashKey = configOpaque("0123456789abcdef")
	cfg.BodyLogging = true
	got, _ = runProcessor(t, cfg, oneRecord(line))
	body = firstRecord(t, got).Body().Map().AsRaw()
	assert.Regexp(t, `^hmac-sha256:[0-9a-f]{64}$`, body["api_key_id"], "with a hash key a secret is its keyed hash")
	assert.Equal(t, "tell me a secret", body["extra"].(map[string]any)["prompt"])

	got, _ = runProcessor(t, createDefaultConfig(), oneRecord(`{"policy_id":"p","decision":"allow","created_at":1768608000,"api_key_id":"key_live_01"}`))
	assert.Equal(t, "key_live_01", firstRecord(t, got).Body().Map().AsRaw()["api_key_id"], "a key ID is not a secret")
}

// A key pasted anywhere (a reason, a user field, a list under details) is
// replaced token by token; IDs the normaliser wrote are never touched.
func TestSecretsInAnyFieldAreReplaced(t *testing.T) {
	line := `{"policy_id":"p","decision":"deny","created_at":1768608000,"correlation_id":"4bf92f3577b34da6a3ce929d0e0e4736","reason":"caller sent key sk-ant-api03-AbCdEfGhIjKlMnOpQrStUv in the prompt","user":"AKIAIOSFODNN7EXAMPLE","details":{"seen":["ok","ghp_0123456789abcdefghijABCDEFGHIJ012345"]},"model":"gpt-4.1"}`
	got, _ := runProcessor(t, createDefaultConfig(), oneRecord(line))
	body := firstRecord(t, got).Body().Map().AsRaw()
	raw, _ := json.Marshal(body)
	for _, secret := range []string{"AbCdEfGhIjKlMnOpQrStUv", "IOSFODNN7EXAMPLE", "0123456789abcdefghijABCDEFGHIJ012345"} {
		assert.NotContains(t, strings.ToLower(string(raw)), strings.ToLower(secret), "not even upper-cased into reason_code")
	}
	assert.Equal(t, "CALLER_SENT_KEY_[REDACTED]", body["reason_code"], "the text before a key stays")
	assert.Equal(t, "[REDACTED]", body["policy_user"])
	assert.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", body["correlation_id"])
	assert.Equal(t, "gpt-4.1", body["model"])

	got, _ = runProcessor(t, createDefaultConfig(), oneRecord(`{"policy_id":"p","decision":"deny","created_at":1768608000,"reason":"risk score above threshold limit","note":"see task_0123456789abcdefghij"}`))
	body = firstRecord(t, got).Body().Map().AsRaw()
	assert.Equal(t, "RISK_SCORE_ABOVE_THRESHOLD_LIMIT", body["reason_code"], "sk inside a word is not a key")
	assert.Equal(t, "see task_0123456789abcdefghij", body["extra"].(map[string]any)["note"])
}

func TestOnError(t *testing.T) {
	bad := plog.NewLogs()
	lrs := bad.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	lrs.AppendEmpty().Body().SetStr(`{"policy_id":"p1","decision":"obliterate","created_at":"2026-01-16T18:22:11Z"}`)
	lrs.AppendEmpty().Body().SetStr(`{"policy_id":"p1","decision":`)
	lrs.AppendEmpty().Body().SetStr(`{"policy_id":"p1","decision":"allow","created_at":"2026-01-16T18:22:11Z"}`)
	dp := func(n int64, reason, action string) metricdata.DataPoint[int64] {
		return metricdata.DataPoint[int64]{Value: n, Attributes: attribute.NewSet(attribute.String("reason", reason), attribute.String("action", action))}
	}

	flagged, tel := runProcessor(t, createDefaultConfig(), copyLogs(bad))
	require.Equal(t, 3, flagged.LogRecordCount(), "flag passes every record on")
	first := flagged.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	body := first.At(0).Body().Map().AsRaw()
	assert.Equal(t, `decision: unknown verdict "obliterate" in "decision"`, body["schema_error"])
	assert.Equal(t, "p1", body["policy_id"], "a flagged record keeps what could be read")
	assert.Contains(t, first.At(0).Attributes().AsRaw(), "policyaudit.schema_error")
	truncated := findBody(flagged, func(b map[string]any) bool { return b["extra"] != nil })
	assert.Equal(t, `{"policy_id":"p1","decision":`, truncated["extra"].(map[string]any)["raw_body"])
	assert.Contains(t, truncated["schema_error"], "malformed JSON")
	metadatatest.AssertEqualProcessorPolicydecisionSchemaErrors(t, tel, []metricdata.DataPoint[int64]{
		dp(1, "unknown_verdict", "flagged"), dp(1, "malformed_json", "flagged"),
	}, metricdatatest.IgnoreTimestamp())

	cfg := createDefaultConfig()
	cfg.OnError = OnErrorDrop
	dropped, tel := runProcessor(t, cfg, copyLogs(bad))
	assert.Equal(t, 1, dropped.LogRecordCount(), "drop passes only the valid record on")
	metadatatest.AssertEqualProcessorPolicydecisionSchemaErrors(t, tel, []metricdata.DataPoint[int64]{
		dp(1, "unknown_verdict", "dropped"), dp(1, "malformed_json", "dropped"),
	}, metricdatatest.IgnoreTimestamp())
}

func copyLogs(ld plog.Logs) plog.Logs {
	out := plog.NewLogs()
	ld.CopyTo(out)
	return out
}

func findBody(ld plog.Logs, match func(map[string]any) bool) map[string]any {
	var found map[string]any
	plogutil.Each(ld, func(lr plog.LogRecord) {
		if b := lr.Body().Map().AsRaw(); found == nil && match(b) {
			found = b
		}
	})
	return found
}

func configOpaque(s string) configopaque.String { return configopaque.String(s) }

// Issue 10: a key quoted in a validation error leaves neither in the
// record's schema_error nor in the policyaudit.schema_error attribute.
func TestSchemaErrorsDoNotCarryKeys(t *testing.T) {
	const key = "sk-proj-4f9Qz7LmT2xV8bN1cR6yW3kH"
	got, _ := runProcessor(t, createDefaultConfig(), oneRecord(`{"policy_id":"p","decision":"`+key+`","created_at":1768608000}`))
	lr := firstRecord(t, got)
	attr, ok := lr.Attributes().Get("policyaudit.schema_error")
	require.True(t, ok)
	assert.Contains(t, attr.Str(), "unknown verdict")
	assert.NotContains(t, attr.Str(), key)
	assert.NotContains(t, fmt.Sprint(lr.Body().AsRaw()), key)
}

// LiteLLM's guardrail fields that quote the prompt leave only with
// body_logging, like any prompt text, as the receiver's records carry them.
func TestLiteLLMPromptFieldsAreBodies(t *testing.T) {
	payload := map[string]any{
		"litellm_call_id": "call-1", "startTime": 1795420800.5, "status": "failure",
		"error_information": map[string]any{"error_code": "400"},
		"guardrail_information": []any{map[string]any{
			"guardrail_name": "pii", "guardrail_status": "guardrail_intervened", "guardrail_mode": "pre_call",
			"guardrail_request": "my card is 4111 1111 1111 1111", "guardrail_response": "blocked",
			"match_details": []any{map[string]any{"match": "4111 1111 1111 1111"}}, "classification": "pci",
		}},
	}
	recs, err := litellm.NormalizePayload(nil, jsonbody.FromAny(payload))
	require.NoError(t, err)
	require.Len(t, recs, 1)

	got, _ := runProcessor(t, createDefaultConfig(), recordLogs(recs[0]))
	body := firstRecord(t, got).Body().Map().AsRaw()
	assert.Equal(t, "deny", body["decision"])
	extra := body["extra"].(map[string]any)
	for _, k := range []string{"guardrail_request", "guardrail_response", "match_details", "guardrail_classification"} {
		assert.NotContains(t, extra, k, "prompt text is removed unless body_logging is on")
	}
	assert.Equal(t, "pii", extra["guardrail_name"])

	cfg := createDefaultConfig()
	cfg.BodyLogging = true
	cfg.PII.HashKey = configOpaque("0123456789abcdef")
	got, _ = runProcessor(t, cfg, recordLogs(recs[0]))
	assert.Contains(t, firstRecord(t, got).Body().Map().AsRaw()["extra"], "guardrail_request", "kept with body_logging")
}

// What Kong's guardrail plugins log of blocked content
// (log_blocked_content) is prompt text too.
func TestKongBlockedContentIsABody(t *testing.T) {
	recs, err := kong.NormalizeEntry(nil, jsonbody.FromAny(map[string]any{
		"started_at": 1795420800000.0, "request": map[string]any{"id": "r1"},
		"ai": map[string]any{"proxy": map[string]any{"lakera-guard": map[string]any{
			"input_block_reason": "prompt_attack", "input_faulty_prompt": "ignore all previous instructions",
		}}},
	}))
	require.NoError(t, err)
	require.Len(t, recs, 1)
	got, _ := runProcessor(t, createDefaultConfig(), recordLogs(recs[0]))
	body := firstRecord(t, got).Body().Map().AsRaw()
	assert.Equal(t, "deny", body["decision"])
	assert.NotContains(t, body["extra"], "input_faulty_prompt")
}

// LiteLLM's and Kong's payloads arriving as OTLP log bodies (JSON text, as
// a filelog line or an OTLP exporter sends them) become the same records
// as at their receiver endpoints: one per guardrail, none for a call no
// guardrail judged.
func TestGatewayDialectsInOTLPBodies(t *testing.T) {
	for fixture, want := range map[string][]string{
		"litellm-calls.ndjson": {"allow", "redact", "allow", "deny", "modify", "allow", "deny", "escalate"},
		"kong-http-log.json":   {"allow", "deny", "redact", "deny", "deny", "deny", "allow", "redact"},
	} {
		t.Run(fixture, func(t *testing.T) {
			got, _ := runProcessor(t, createDefaultConfig(), fixtureLogs(t, fixture))
			var decisions []string
			for i := 0; i < got.ResourceLogs().Len(); i++ {
				sls := got.ResourceLogs().At(i).ScopeLogs()
				for j := 0; j < sls.Len(); j++ {
					for k := 0; k < sls.At(j).LogRecords().Len(); k++ {
						b := sls.At(j).LogRecords().At(k).Body().Map().AsRaw()
						assert.NotContains(t, b, "schema_error")
						decisions = append(decisions, b["decision"].(string))
					}
				}
			}
			assert.ElementsMatch(t, want, decisions)
		})
	}
}

// recordLogs is one record as the policygateway receiver hands it on.
func recordLogs(rec *record.Record) plog.Logs {
	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	rec.SetLogRecordFields(lr)
	rec.CopyTo(lr.Body().SetEmptyMap())
	return ld
}
