// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package policygatewayreceiver

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/policyaudit/policyaudit/internal/dialect/decisions"
	"github.com/policyaudit/policyaudit/internal/gatewaysim"
	"github.com/policyaudit/policyaudit/receiver/policygatewayreceiver/internal/metadata"
)

// BenchmarkDecisionsEndpoint: one op is one record through the
// /v1/decisions handler (split, validate, normalise, hand on), in requests of
// 1000 NDJSON records.
func BenchmarkDecisionsEndpoint(b *testing.B) {
	const batch = 1000
	g := gatewaysim.NewGenerator(1, time.Date(2026, 3, 1, 23, 30, 0, 0, time.UTC), time.Hour, batch)
	var body bytes.Buffer
	for range batch {
		body.Write(g.Append(nil, gatewaysim.Flat))
		body.WriteByte('\n')
	}
	r, err := newReceiver(receivertest.NewNopSettings(metadata.Type), createDefaultConfig(), consumertest.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	h := r.handler(&decisions.Dialect)
	b.SetBytes(int64(body.Len() / batch))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += batch {
		req := httptest.NewRequest(http.MethodPost, "/v1/decisions", bytes.NewReader(body.Bytes()))
		req.Header.Set("Content-Type", "application/x-ndjson")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatal(rec.Body.String())
		}
	}
}
