// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package policygatewayreceiver

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configtls"
	"go.opentelemetry.io/collector/consumer/consumertest"

	"github.com/policyaudit/policyaudit/test/harness"
)

// closedWithin reports whether the server closes conn within limit.
func closedWithin(t *testing.T, conn net.Conn, limit time.Duration) bool {
	t.Helper()
	require.NoError(t, conn.SetReadDeadline(time.Now().Add(limit)))
	_, err := io.ReadAll(conn)
	var ne net.Error
	return !errors.As(err, &ne) || !ne.Timeout()
}

func hostOf(url string) string { return strings.TrimPrefix(url, "http://") }

// A client that never finishes its headers, or its body, or idles on a
// kept-alive connection, is disconnected by the configured timeouts.
func TestSlowClientsAreDisconnected(t *testing.T) {
	cfg := createDefaultConfig()
	cfg.ReadHeaderTimeout = 200 * time.Millisecond
	cfg.ReadTimeout = 500 * time.Millisecond
	cfg.IdleTimeout = 300 * time.Millisecond
	sink := new(consumertest.LogsSink)
	addr := hostOf(startReceiver(t, cfg, sink))

	headers, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer headers.Close()
	_, _ = io.WriteString(headers, "POST /v1/decisions HTTP/1.1\r\nHost: x\r\n")
	assert.True(t, closedWithin(t, headers, 3*time.Second), "read_header_timeout")

	body, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer body.Close()
	_, _ = io.WriteString(body, "POST /v1/decisions HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\nContent-Length: 1000\r\n\r\n{\"policy_id\":")
	assert.True(t, closedWithin(t, body, 3*time.Second), "read_timeout")

	idle, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer idle.Close()
	_, _ = io.WriteString(idle, "GET /v1/decisions HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(idle), nil)
	require.NoError(t, err)
	resp.Body.Close()
	assert.True(t, closedWithin(t, idle, 3*time.Second), "idle_timeout")
	assert.Zero(t, sink.LogRecordCount())
}

// With tls set, the receiver speaks only TLS.
func TestTLS(t *testing.T) {
	certFile, keyFile, client := harness.SelfSignedCert(t)
	cfg := createDefaultConfig()
	tlsCfg := configtls.NewDefaultServerConfig()
	tlsCfg.CertFile, tlsCfg.KeyFile = certFile, keyFile
	cfg.TLS = configoptional.Some(tlsCfg)
	sink := new(consumertest.LogsSink)
	addr := hostOf(startReceiver(t, cfg, sink))

	resp, err := client.Post("https://"+addr+"/v1/decisions", "application/x-ndjson", strings.NewReader(`{"policy_id":"p","decision":"allow","created_at":1768608000}`))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, 1, sink.LogRecordCount())

	plain, err := http.Post("http://"+addr+"/v1/decisions", "application/x-ndjson", strings.NewReader(`{"policy_id":"p","decision":"allow","created_at":1768608000}`))
	if err == nil {
		plain.Body.Close()
		assert.Equal(t, http.StatusBadRequest, plain.StatusCode, "plain HTTP to a TLS port is refused")
	}
	assert.Equal(t, 1, sink.LogRecordCount(), "nothing accepted over plain HTTP")
}
