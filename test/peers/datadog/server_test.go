// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package datadog

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func send(t *testing.T, s *Server, key, contentType, body string) int {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	_, _ = zw.Write([]byte(body))
	require.NoError(t, zw.Close())
	req, err := http.NewRequest(http.MethodPost, s.URL+"/api/v2/logs", &b)
	require.NoError(t, err)
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Content-Encoding", "gzip")
	req.Header.Set("DD-API-KEY", key)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

func TestIntakeAcceptsAndParsesJSONMessages(t *testing.T) {
	s := Start("key")
	defer s.Close()
	body := `[{"message":"{\"decision\":\"deny\",\"policy\":{\"id\":\"p\"}}","ddsource":"policy-gateway","service":"llm","hostname":"h","status":"info","ddtags":"decision:deny,policy_id:p"}]`
	require.Equal(t, http.StatusAccepted, send(t, s, "key", "application/json", body))
	logs := s.Logs()
	require.Len(t, logs, 1)
	assert.Equal(t, "policy-gateway", logs[0].Source)
	assert.Equal(t, "llm", logs[0].Service)
	v, ok := logs[0].Tag("policy_id")
	assert.True(t, ok)
	assert.Equal(t, "p", v)
	assert.Equal(t, "deny", logs[0].Attributes["decision"])
	assert.Empty(t, s.Violations())
}

func TestIntakeRefusesWhatTheIntakeRefuses(t *testing.T) {
	s := Start("key")
	defer s.Close()
	assert.Equal(t, http.StatusForbidden, send(t, s, "wrong", "application/json", `[]`))
	many := "[" + strings.TrimSuffix(strings.Repeat(`{"message":"m"},`, 1001), ",") + "]"
	for name, c := range map[string]struct {
		contentType, body string
		status            int
	}{
		"not JSON":         {"application/json", `message=m`, 400},
		"wrong type":       {"text/plain", `[{"message":"m"}]`, 400},
		"message a number": {"application/json", `[{"message":1}]`, 400},
		"tags not string":  {"application/json", `[{"message":"m","ddtags":["a:b"]}]`, 400},
		"empty tag":        {"application/json", `[{"message":"m","ddtags":"a:b,,c:d"}]`, 400},
		"too many logs":    {"application/json", many, 413},
	} {
		assert.Equal(t, c.status, send(t, s, "key", c.contentType, c.body), name)
	}
	assert.Len(t, s.Violations(), 6)
	assert.Empty(t, s.Logs())
}

func TestIntakeTruncatesLogsOver1MB(t *testing.T) {
	s := Start("key")
	defer s.Close()
	message := `{\"correlation_id\":\"c-1\",\"details\":\"` + strings.Repeat("x", 1<<20) + `\"}`
	require.Equal(t, http.StatusAccepted, send(t, s, "key", "application/json", `[{"message":"`+message+`"},{"message":"small"}]`))
	logs := s.Logs()
	require.Len(t, logs, 2)
	assert.True(t, logs[0].Truncated)
	assert.Nil(t, logs[0].Attributes, "the cut message no longer parses: its attributes are lost")
	assert.False(t, logs[1].Truncated)
	assert.Empty(t, s.Violations())
}

func TestIntakeDropsLogsDatedOutsideItsWindow(t *testing.T) {
	s := Start("key")
	defer s.Close()
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	s.SetClock(func() time.Time { return now })
	dated := func(ts time.Time) string {
		return `{"message":"{\"@timestamp\":\"` + ts.Format(time.RFC3339Nano) + `\"}","timestamp":` + fmt.Sprint(now.UnixMilli()) + `}`
	}
	body := "[" + strings.Join([]string{
		dated(now.Add(-17 * time.Hour)),
		dated(now.Add(-19 * time.Hour)),
		dated(now.Add(3 * time.Hour)),
		`{"message":"no date of its own","timestamp":` + fmt.Sprint(now.UnixMilli()) + `}`,
	}, ",") + "]"
	require.Equal(t, http.StatusAccepted, send(t, s, "key", "application/json", body))
	assert.Equal(t, 2, s.Stale())
	logs := s.Logs()
	require.Len(t, logs, 2)
	assert.Equal(t, now.Add(-17*time.Hour), logs[0].Time.UTC())
	assert.Equal(t, now, logs[1].Time.UTC(), "dated by the payload's timestamp")
}
