// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package jsonlencodingextension

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/policyaudit/policyaudit/extension/jsonlencodingextension/internal/metadata"
)

func TestMarshalLogsWritesOneBodyPerLine(t *testing.T) {
	ext, err := NewFactory().Create(context.Background(), extensiontest.NewNopSettings(metadata.Type), createDefaultConfig())
	require.NoError(t, err)
	m, ok := ext.(plog.Marshaler)
	require.True(t, ok, "the file and awss3 exporters need a plog.Marshaler")

	ld := plog.NewLogs()
	for _, resource := range []string{"date=2026-01-16", "date=2026-01-17"} {
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr("policyaudit.partition", resource)
		lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
		body := lrs.AppendEmpty().Body().SetEmptyMap()
		body.PutStr("z_first", "insertion order is kept")
		body.PutStr("quote", "a \"quoted\"\nline\u2028")
		body.PutInt("n", 7)
		body.PutDouble("x", 0.25)
		body.PutBool("ok", true)
		body.PutEmptySlice("list").AppendEmpty().SetStr("a")
		body.PutEmptyMap("nested").PutEmpty("nothing")
		lrs.AppendEmpty().Body().SetStr("plain text body")
	}

	out, err := m.MarshalLogs(ld)
	require.NoError(t, err)
	lines := strings.Split(string(out), "\n")
	require.Len(t, lines, 4, "one line per record, no trailing newline")
	assert.Equal(t, `{"z_first":"insertion order is kept","quote":"a \"quoted\"\nline`+"\u2028"+`","n":7,"x":0.25,"ok":true,"list":["a"],"nested":{"nothing":null}}`, lines[0])
	assert.Equal(t, `"plain text body"`, lines[1])
	for _, l := range lines {
		assert.True(t, json.Valid([]byte(l)), l)
	}
}

func TestMarshalEmptyLogs(t *testing.T) {
	out, err := (&jsonlEncoding{}).MarshalLogs(plog.NewLogs())
	require.NoError(t, err)
	assert.Empty(t, out)
}
