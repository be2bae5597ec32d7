// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package s3auditexporter

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/policyaudit/policyaudit/internal/auditstore"
	"github.com/policyaudit/policyaudit/internal/s3digest"
)

const headAnswer = `{"statement":{"hash":"ab","key_id":"k","reason":"shutdown","seq":7,"signed_at":"2026-12-06T00:00:00Z","stored_ms":1,"type":"policyaudit.audit_store.head.v1","vouched_from":1},"signature":"c2ln","key_id":"k","public_key":"PEM","head":{"seq":7,"hash":"ab"}}`

// The store's answer, as /api/v1/head gives it: a head, nothing signed yet
// (404), or an error; anything else is not taken for a head.
func TestStoreHeadReadsTheQueryAPI(t *testing.T) {
	status, body := http.StatusOK, headAnswer
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "/api/v1/head", r.URL.Path)
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	defer srv.Close()
	h := newStoreHead(srv.Client(), srv.URL+"/")
	sh, err := h.fetch(context.Background())
	require.NoError(t, err)
	require.NotNil(t, sh)
	assert.Equal(t, "c2ln", sh.Signature)
	assert.JSONEq(t, `{"hash":"ab","key_id":"k","reason":"shutdown","seq":7,"signed_at":"2026-12-06T00:00:00Z","stored_ms":1,"type":"policyaudit.audit_store.head.v1","vouched_from":1}`, string(sh.Statement))

	status, body = http.StatusNotFound, `{"error":"no signed head"}`
	sh, err = h.fetch(context.Background())
	assert.NoError(t, err)
	assert.Nil(t, sh, "nothing signed yet")

	for _, tc := range []struct {
		status int
		body   string
	}{{http.StatusUnauthorized, ``}, {http.StatusOK, `{"statement":{"type":"other"},"signature":"x"}`}, {http.StatusOK, `[]`}} {
		status, body = tc.status, tc.body
		_, err = h.fetch(context.Background())
		assert.Error(t, err, "%d %s", tc.status, tc.body)
	}
}

// Each digest names its bucket and digest prefix, and carries the head the
// store gave when it was made.
func TestDigestCarriesTheStoreHead(t *testing.T) {
	ctx := context.Background()
	client, closeIdle := s3Peer(t)
	defer closeIdle()
	key := newSigner(t)
	clock := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	d, err := openDigester(t.TempDir(), client, "policy-audit", "policy-audit/_digest", key, func() time.Time { return clock }, ArchiveConfig{})
	require.NoError(t, err)
	defer d.close()
	head := &auditstore.SignedHead{Statement: []byte(`{"seq":7,"type":"policyaudit.audit_store.head.v1"}`), Signature: "c2ln"}
	d.head = func(context.Context) *auditstore.SignedHead { return head }
	clock = clock.Add(time.Minute)
	_, err = d.emit(ctx)
	require.NoError(t, err)
	got := readDigest(t, client, s3digest.Key("policy-audit/_digest", clock), key)
	assert.Equal(t, "policy-audit", got.Digest.Bucket)
	assert.Equal(t, "policy-audit/_digest", got.Digest.DigestPrefix)
	require.NotNil(t, got.Digest.AuditStoreHead)
	assert.Equal(t, head.Signature, got.Digest.AuditStoreHead.Signature)
	assert.JSONEq(t, string(head.Statement), string(got.Digest.AuditStoreHead.Statement))
}
