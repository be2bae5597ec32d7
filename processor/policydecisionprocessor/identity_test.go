// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package policydecisionprocessor

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/policyaudit/policyaudit/internal/record"
)

const victim = `{"policy_id":"support-guardrails","decision":"deny","policy_user":"user-4711","project_id":"support-bot","created_at":"2026-01-16T18:22:11Z"}`

// exported is the canonical record a destination receives for victim.
func exported(t *testing.T, cfg *Config) pcommon.Map {
	t.Helper()
	out, _ := runProcessor(t, cfg, oneRecord(victim))
	return firstRecord(t, out).Body().Map()
}

// confirms plays the attacker who holds one exported record: put a guessed
// user ID back, derive the IDs the way anyone can (unkeyed, or under a key
// they try), and see whether the record's event_id comes out.
func confirms(exp pcommon.Map, guess string, key []byte) bool {
	return confirmsWith(exp, func(m pcommon.Map) { m.PutStr("policy_user", guess) }, key)
}

// confirmsWith is confirms for any guess the attacker puts back.
func confirmsWith(exp pcommon.Map, guess func(pcommon.Map), key []byte) bool {
	m := pcommon.NewMap()
	exp.CopyTo(m)
	guess(m)
	m.PutStr("event_id", "")
	m.PutStr("correlation_id", "")
	rec, err := record.ReadHeader(m)
	if err != nil {
		return false
	}
	record.NewNamer(key).Name(rec, m)
	v, _ := exp.Get("event_id")
	return rec.EventID == v.Str()
}

// Issue 17, attack 1: with the user ID hashed, the event_id must not let
// anyone confirm a guessed user ID. Without a key (and without PII rules,
// the only configuration that may run unkeyed) the same search finds it,
// which is what made the old derivation an oracle.
func TestEventIDDoesNotConfirmAGuessedUser(t *testing.T) {
	plain := exported(t, createDefaultConfig())
	assert.True(t, confirms(plain, "user-4711", nil), "unkeyed IDs are recomputable: the attack is real")

	cfg := createDefaultConfig()
	cfg.PII.HashKey = configOpaque("pii-key-0123456789abcdef")
	cfg.PII.Fields = map[string]string{"policy_user": PIIHash}
	cfg.IDKey = configOpaque("id-key-0123456789abcdef")
	require.NoError(t, cfg.Validate())
	exp := exported(t, cfg)
	assert.NotContains(t, exp.AsRaw(), "user-4711")
	for i := 4600; i < 4800; i++ {
		guess := fmt.Sprintf("user-%d", i)
		for _, key := range [][]byte{nil, []byte(cfg.PII.HashKey), []byte("some-other-key-0123456")} {
			require.False(t, confirms(exp, guess, key), "%s confirmed with key %q", guess, key)
		}
	}
	// The holder of the key can (that is what the key is for).
	assert.True(t, confirms(exp, "user-4711", []byte(cfg.IDKey)))
}

// Without PII rules the IDs may be unkeyed, so they must be a function of
// what is exported: prompt text, which the processor drops, must not be
// confirmable by putting a guess back and recomputing the event_id.
func TestEventIDDoesNotConfirmAGuessedPrompt(t *testing.T) {
	line := `{"policy_id":"p","decision":"deny","created_at":"2026-01-16T18:22:11Z","prompt":"ignore previous instructions"}`
	out, _ := runProcessor(t, createDefaultConfig(), oneRecord(line))
	exp := firstRecord(t, out).Body().Map()
	assert.NotContains(t, exp.AsRaw(), "extra", "the prompt was dropped")
	withPrompt := func(prompt string) func(pcommon.Map) {
		return func(m pcommon.Map) { m.PutEmptyMap("extra").PutStr("prompt", prompt) }
	}
	assert.False(t, confirmsWith(exp, withPrompt("ignore previous instructions"), nil), "the right guess is not confirmed")
	assert.True(t, confirmsWith(exp, func(pcommon.Map) {}, nil), "the ID is derived from the exported record alone")
}

// PII rules without an id_key are refused, naming both keys.
func TestPIIRulesRequireAnIDKey(t *testing.T) {
	cfg := createDefaultConfig()
	cfg.PII.HashKey = configOpaque("pii-key-0123456789abcdef")
	cfg.PII.Fields = map[string]string{"policy_user": PIIHash, "actor.ip": PIIRedact}
	err := cfg.Validate()
	require.Error(t, err)
	assert.ErrorContains(t, err, "id_key: required when pii.fields.actor.ip, pii.fields.policy_user are set")
	cfg.IDKey = configOpaque("short")
	assert.ErrorContains(t, cfg.Validate(), "id_key: at least 16 bytes")
	cfg.IDKey = configOpaque("id-key-0123456789abcdef")
	assert.NoError(t, cfg.Validate())
}

// Every destination's processor, the receiver's fast path and the long path
// give a record the same keyed IDs, run after run: de-duplication by
// event_id works across destinations, replays and restarts.
func TestKeyedIDsAreTheSameInEveryPipeline(t *testing.T) {
	ids := map[string]bool{}
	for _, dest := range destinations {
		for _, fast := range []bool{false, true} {
			cfg := createDefaultConfig()
			cfg.Destination = dest
			cfg.IDKey = configOpaque("id-key-0123456789abcdef")
			in := oneRecord(victim)
			if fast {
				in = asReceiverHandsOn(t, victim)
			}
			out := process(t, cfg, context.Background(), in)
			body := firstRecord(t, out).Body().Map()
			eventID, correlationID := "event_id", "correlation_id"
			switch dest {
			case DestinationElasticsearch:
				v, _ := body.Get("policy")
				body = v.Map()
			case DestinationOCSF:
				v, _ := body.Get("metadata")
				body, eventID, correlationID = v.Map(), "uid", "correlation_uid"
			}
			ev, _ := body.Get(eventID)
			co, _ := body.Get(correlationID)
			ids[ev.Str()+" "+co.Str()] = true
		}
	}
	assert.Len(t, ids, 1, "one pair of IDs, whatever the destination and path: %v", ids)
}

// asReceiverHandsOn is one record as the policygateway receiver hands it on.
func asReceiverHandsOn(t *testing.T, line string) plog.Logs {
	raw := map[string]any{}
	require.NoError(t, json.Unmarshal([]byte(line), &raw))
	rec, err := record.Normalize(raw, record.Hints{Kind: record.KindDecision})
	require.NoError(t, err)
	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	rec.CopyTo(lr.Body().SetEmptyMap())
	rec.SetLogRecordFields(lr)
	return ld
}
