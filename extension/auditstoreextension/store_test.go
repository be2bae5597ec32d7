// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package auditstoreextension

import (
	"context"
	"net"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/extension/extensiontest"

	"github.com/policyaudit/policyaudit/exporter/auditstoreexporter"
	"github.com/policyaudit/policyaudit/extension/auditstoreextension/internal/metadata"
)

// hostWith is a host whose extensions are the store, under its default ID.
type hostWith struct {
	component.Host
	store *auditStore
}

func (h hostWith) GetExtensions() map[component.ID]component.Component {
	return map[component.ID]component.Component{component.NewID(metadata.Type): h.store}
}

func startExporter(t *testing.T) (exporter.Logs, string) {
	t.Helper()
	exp, url, _ := startExporterAt(t)
	return exp, url
}

func startExporterAt(t *testing.T) (exporter.Logs, string, string) {
	t.Helper()
	return startExporterWith(t, func(*Config) {})
}

// startExporterWith starts the store on a free port and a temporary
// database, with set applied to its configuration, and an auditstore
// exporter appending to it synchronously (ConsumeLogs returns once stored).
func startExporterWith(t *testing.T, set func(*Config)) (exporter.Logs, string, string) {
	t.Helper()
	st := startStore(t, set)
	exp := newExporterOf(t, st)
	t.Cleanup(func() { require.NoError(t, exp.Shutdown(context.Background())) })
	return exp, "http://" + st.addr, st.cfg.Path
}

// newExporterOf is a started auditstore exporter appending to st
// synchronously (ConsumeLogs returns once stored).
func newExporterOf(t *testing.T, st *auditStore) exporter.Logs {
	t.Helper()
	exporters := auditstoreexporter.NewFactory()
	cfg := exporters.CreateDefaultConfig()
	cfg.(*auditstoreexporter.Config).QueueConfig.Enabled = false
	exp, err := exporters.CreateLogs(context.Background(), exportertest.NewNopSettings(exporters.Type()), cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), hostWith{Host: componenttest.NewNopHost(), store: st}))
	return exp
}

// startStore starts the extension alone, shut down when the test ends.
func startStore(t *testing.T, set func(*Config)) *auditStore {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	cfg := createDefaultConfig()
	cfg.Path = filepath.Join(t.TempDir(), "audit.db")
	cfg.Query.Endpoint = addr
	set(cfg)
	require.NoError(t, cfg.Validate())
	st, err := newAuditStore(extensiontest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	require.NoError(t, st.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, st.Shutdown(context.Background())) })
	return st
}
