// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package policygatewayreceiver

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/policyaudit/policyaudit/internal/dialects"
	"github.com/policyaudit/policyaudit/internal/testfixtures"
	"github.com/policyaudit/policyaudit/receiver/policygatewayreceiver/internal/metadata"
)

// FuzzEndpoints: any body to any of the five endpoints, as JSON or NDJSON,
// is answered 200 or a 4xx with a JSON error, never a panic or a 5xx, and
// what is answered 200 reaches the pipeline whole.
func FuzzEndpoints(f *testing.F) {
	for _, b := range testfixtures.Bodies(f, true) {
		for s := range 5 {
			f.Add(b, uint8(s), false)
			f.Add(b, uint8(s), true)
		}
	}
	cfg := createDefaultConfig()
	cfg.MaxRecordsPerRequest = 100
	cfg.MaxNestingDepth = 8
	cfg.MaxStringLength = 1024
	f.Fuzz(func(t *testing.T, body []byte, s uint8, ndjson bool) {
		sink := new(consumertest.LogsSink)
		r, err := newReceiver(receivertest.NewNopSettings(metadata.Type), cfg, sink)
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		req.Header.Set("Content-Type", map[bool]string{false: "application/json", true: "application/x-ndjson"}[ndjson])
		rec := httptest.NewRecorder()
		r.handler(dialects.All[int(s)%len(dialects.All)]).ServeHTTP(rec, req)

		var answer errorBody
		if err := json.Unmarshal(rec.Body.Bytes(), &answer); err != nil {
			t.Fatalf("status %d with a non-JSON answer %q", rec.Code, rec.Body.String())
		}
		switch {
		case rec.Code == http.StatusOK:
			if answer.Accepted != sink.LogRecordCount() {
				t.Fatalf("answered %d accepted, %d reached the pipeline", answer.Accepted, sink.LogRecordCount())
			}
		case rec.Code >= 400 && rec.Code < 500:
			if answer.Error == "" || sink.LogRecordCount() != 0 {
				t.Fatalf("a %d must name the problem and accept nothing: %+v, %d records", rec.Code, answer, sink.LogRecordCount())
			}
		default:
			t.Fatalf("status %d: %s", rec.Code, rec.Body.String())
		}
	})
}
