// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package policydecisionprocessor

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/policyaudit/policyaudit/extension/auditstoreextension"
	"github.com/policyaudit/policyaudit/internal/record"
	"github.com/policyaudit/policyaudit/processor/policydecisionprocessor/internal/metadata"
)

var vaultID = component.MustNewID("auditstore")

type host struct {
	component.Host
	extensions map[component.ID]component.Component
}

func (h host) GetExtensions() map[component.ID]component.Component { return h.extensions }

// startVault starts a real audit store with a vault on a temporary file.
func startVault(t *testing.T, key string) extension.Extension {
	t.Helper()
	f := auditstoreextension.NewFactory()
	cfg := f.CreateDefaultConfig().(*auditstoreextension.Config)
	cfg.Path = filepath.Join(t.TempDir(), "audit.db")
	cfg.Query.Endpoint = "127.0.0.1:0"
	cfg.Vault.Key = configopaque.String(key)
	ext, err := f.Create(context.Background(), extensiontest.NewNopSettings(f.Type()), cfg)
	require.NoError(t, err)
	require.NoError(t, ext.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, ext.Shutdown(context.Background())) })
	return ext
}

func tokenizeConfig() *Config {
	cfg := createDefaultConfig()
	cfg.IDKey = "0123456789abcdef0123456789abcdef"
	cfg.PII.Fields = map[string]string{"policy_user": PIITokenize, "actor.id": PIITokenize}
	cfg.PII.Vault = &vaultID
	return cfg
}

// startProcessor starts a processor on host, feeding a sink.
func startProcessor(t *testing.T, cfg *Config, h component.Host) (processor.Logs, *consumertest.LogsSink) {
	t.Helper()
	sink := new(consumertest.LogsSink)
	p, err := NewFactory().CreateLogs(context.Background(), processortest.NewNopSettings(metadata.Type), cfg, sink)
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background(), h))
	t.Cleanup(func() { require.NoError(t, p.Shutdown(context.Background())) })
	return p, sink
}

func records(bodies ...string) plog.Logs {
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for _, b := range bodies {
		lrs.AppendEmpty().Body().SetStr(b)
	}
	return ld
}

const (
	aliceDecision = `{"policy_id":"p","decision":"deny","policy_user":"alice@example.com","created_at":"2026-01-16T18:22:11Z"}`
	bobDecision   = `{"policy_id":"p","decision":"allow","policy_user":"bob@example.com","created_at":"2026-01-16T18:22:12Z"}`
	aliceAdmin    = `{"event_kind":"admin_audit","action":"policy.update","actor":{"id":"alice@example.com","type":"user","ip":"10.0.0.7"},"resource":{"type":"policy","id":"p"},"created_at":"2026-01-16T18:20:00Z"}`
)

func field(t *testing.T, lr plog.LogRecord, path ...string) string {
	t.Helper()
	m := lr.Body().Map()
	for _, k := range path[:len(path)-1] {
		v, ok := m.Get(k)
		require.True(t, ok, k)
		m = v.Map()
	}
	v, ok := m.Get(path[len(path)-1])
	require.True(t, ok, path)
	return v.Str()
}

func TestTokenizeReplacesAPersonWithOneTokenInEveryPipeline(t *testing.T) {
	h := host{componenttest.NewNopHost(), map[component.ID]component.Component{vaultID: startVault(t, "vault-key-0123456789")}}
	first, sink1 := startProcessor(t, tokenizeConfig(), h)
	second, sink2 := startProcessor(t, tokenizeConfig(), h) // another pipeline
	require.NoError(t, first.ConsumeLogs(context.Background(), records(aliceDecision, bobDecision, aliceAdmin)))
	require.NoError(t, second.ConsumeLogs(context.Background(), records(aliceAdmin)))

	out := sink1.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	alice, bob, actor := field(t, out.At(0), "policy_user"), field(t, out.At(1), "policy_user"), field(t, out.At(2), "actor", "id")
	assert.True(t, record.IsToken(alice), alice)
	assert.True(t, record.IsToken(bob), bob)
	assert.NotEqual(t, alice, bob)
	assert.Equal(t, alice, actor, "one person as user and as actor: one token")
	other := sink2.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
	assert.Equal(t, alice, field(t, other, "actor", "id"), "the same token in another pipeline")
	assert.Equal(t, field(t, out.At(2), "event_id"), field(t, other, "event_id"), "the same record, the same event_id")
	assert.Equal(t, "10.0.0.7", field(t, out.At(2), "actor", "ip"), "fields without a rule are left alone")

	// A value in a token's form that the vault did not mint is a value.
	forged := "tok_aaaaaaaaaaaaaaaaaaaaaaaaaa"
	require.NoError(t, first.ConsumeLogs(context.Background(), records(strings.Replace(bobDecision, "bob@example.com", forged, 1))))
	got := field(t, sink1.AllLogs()[1].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0), "policy_user")
	assert.True(t, record.IsToken(got))
	assert.NotEqual(t, forged, got, "a forged token is tokenised like any value")

	// A record an earlier instance tokenised keeps its tokens.
	third, sink3 := startProcessor(t, tokenizeConfig(), h)
	again := plog.NewLogs()
	sink1.AllLogs()[0].CopyTo(again)
	require.NoError(t, third.ConsumeLogs(context.Background(), again))
	assert.Equal(t, alice, field(t, sink3.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0), "policy_user"))
}

// The event_id is derived from the token: whoever holds the id_key and
// guesses the value cannot recompute it, and the same input tokenised by
// another vault (or again after an erasure) gets other IDs.
func TestDerivedIDsStandForTheTokenNotTheValue(t *testing.T) {
	cfg := tokenizeConfig()
	run := func() plog.LogRecord {
		h := host{componenttest.NewNopHost(), map[component.ID]component.Component{vaultID: startVault(t, "vault-key-0123456789")}}
		p, sink := startProcessor(t, cfg, h)
		require.NoError(t, p.ConsumeLogs(context.Background(), records(aliceDecision)))
		return sink.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
	}
	a, b := run(), run()
	assert.NotEqual(t, field(t, a, "event_id"), field(t, b, "event_id"))
	assert.False(t, confirms(a.Body().Map(), "alice@example.com", []byte(cfg.IDKey)), "the id_key and the value confirm nothing")
}

func TestTokenizeRefusesToStartWithoutAVaultItCanReach(t *testing.T) {
	f := auditstoreextension.NewFactory()
	noVault := f.CreateDefaultConfig().(*auditstoreextension.Config)
	noVault.Path = filepath.Join(t.TempDir(), "audit.db")
	noVault.Query.Endpoint = "127.0.0.1:0"
	ext, err := f.Create(context.Background(), extensiontest.NewNopSettings(f.Type()), noVault)
	require.NoError(t, err)
	for name, exts := range map[string]map[component.ID]component.Component{
		"pii.vault: the extension auditstore is not configured":                   {},
		"pii.vault: the audit store auditstore keeps no vault: set its vault.key": {vaultID: ext},
	} {
		p, err := NewFactory().CreateLogs(context.Background(), processortest.NewNopSettings(metadata.Type), tokenizeConfig(), consumertest.NewNop())
		require.NoError(t, err)
		assert.ErrorContains(t, p.Start(context.Background(), host{componenttest.NewNopHost(), exts}), name)
	}
}

// A vault that cannot answer fails the batch (the sender retries it):
// nothing leaves with a raw value, nothing is acknowledged without tokens.
func TestAVaultThatCannotAnswerFailsTheBatch(t *testing.T) {
	store := startVault(t, "vault-key-0123456789")
	p, sink := startProcessor(t, tokenizeConfig(), host{componenttest.NewNopHost(), map[component.ID]component.Component{vaultID: store}})
	require.NoError(t, store.Shutdown(context.Background()))
	err := p.ConsumeLogs(context.Background(), records(aliceDecision))
	assert.ErrorContains(t, err, "pii.vault")
	assert.Empty(t, sink.AllLogs())
}
