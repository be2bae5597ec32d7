// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package auditstoreexporter

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/policyaudit/policyaudit/exporter/auditstoreexporter/internal/metadata"
	"github.com/policyaudit/policyaudit/extension/auditstoreextension"
)

// host is a collector host with the given extensions.
type host struct {
	component.Host
	extensions map[component.ID]component.Component
}

func (h host) GetExtensions() map[component.ID]component.Component { return h.extensions }

// startStore starts a real auditstore extension on a temporary database.
func startStore(t *testing.T) extension.Extension {
	t.Helper()
	f := auditstoreextension.NewFactory()
	cfg := f.CreateDefaultConfig().(*auditstoreextension.Config)
	cfg.Path = filepath.Join(t.TempDir(), "audit.db")
	cfg.Query.Endpoint = "127.0.0.1:0"
	ext, err := f.Create(context.Background(), extensiontest.NewNopSettings(f.Type()), cfg)
	require.NoError(t, err)
	require.NoError(t, ext.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, ext.Shutdown(context.Background())) })
	return ext
}

func TestNonCanonicalRecordsAreRefusedPermanently(t *testing.T) {
	cfg := createDefaultConfig()
	cfg.QueueConfig.Enabled = false
	exp, err := NewFactory().CreateLogs(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), host{componenttest.NewNopHost(), map[component.ID]component.Component{defaultStore: startStore(t)}}))
	defer func() { require.NoError(t, exp.Shutdown(context.Background())) }()

	ld := plog.NewLogs()
	ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetStr(`{"decision":"allow"}`)
	err = exp.ConsumeLogs(context.Background(), ld)
	require.Error(t, err)
	assert.True(t, consumererror.IsPermanent(err), "retrying cannot help")
	assert.ErrorContains(t, err, "put the policydecision processor before this exporter")
}

// The store it names must be configured, and be an audit store.
func TestStartNamesAMissingStore(t *testing.T) {
	cfg := createDefaultConfig()
	cfg.Store = component.MustNewIDWithName("auditstore", "shared")
	exp, err := NewFactory().CreateLogs(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	err = exp.Start(context.Background(), componenttest.NewNopHost())
	assert.ErrorContains(t, err, "store: the extension auditstore/shared is not configured")
	require.NoError(t, exp.Shutdown(context.Background()))

	cfg.Store = component.MustNewID("health_check")
	exp, err = NewFactory().CreateLogs(context.Background(), exportertest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	other, err := extensiontest.NewNopFactory().Create(context.Background(), extensiontest.NewNopSettings(extensiontest.NopType), nil)
	require.NoError(t, err)
	notAStore := host{componenttest.NewNopHost(), map[component.ID]component.Component{cfg.Store: other}}
	err = exp.Start(context.Background(), notAStore)
	assert.ErrorContains(t, err, "is not an audit store")
	require.NoError(t, exp.Shutdown(context.Background()))
}

func TestShutdownWithoutStart(t *testing.T) {
	e, err := newAuditStore(exportertest.NewNopSettings(metadata.Type), createDefaultConfig())
	require.NoError(t, err)
	require.NoError(t, e.shutdown(context.Background()))
	require.NoError(t, e.shutdown(context.Background()))
}
