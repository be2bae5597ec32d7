// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package s3auditexporter

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/policyaudit/policyaudit/internal/auditstore"
)

// storeHead reads the newest signed head of an audit store from its query
// API (GET /api/v1/head), so each digest carries a copy of it off the host.
type storeHead struct {
	client *http.Client
	url    string
}

func newStoreHead(client *http.Client, endpoint string) *storeHead {
	return &storeHead{client: client, url: strings.TrimSuffix(endpoint, "/") + "/api/v1/head"}
}

// maxHeadBytes bounds the answer read: a head is a few hundred bytes, with
// the public key's PEM beside it.
const maxHeadBytes = 64 << 10

// fetch returns the newest signed head, or nil when the store has signed
// nothing yet (404).
func (h *storeHead) fetch(ctx context.Context) (*auditstore.SignedHead, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("reading the audit store's head at %s: %w", h.url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxHeadBytes))
	if err != nil {
		return nil, fmt.Errorf("reading the audit store's head at %s: %w", h.url, err)
	}
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound:
		return nil, nil
	default:
		return nil, fmt.Errorf("reading the audit store's head at %s: HTTP %d", h.url, resp.StatusCode)
	}
	var sh auditstore.SignedHead
	if err := json.Unmarshal(body, &sh); err != nil || len(sh.Statement) == 0 || sh.Signature == "" {
		return nil, fmt.Errorf("the answer of %s is not a signed head", h.url)
	}
	var st auditstore.HeadStatement
	if err := json.Unmarshal(sh.Statement, &st); err != nil || st.Type != auditstore.HeadStatementType {
		return nil, fmt.Errorf("the answer of %s is not a signed head statement", h.url)
	}
	return &sh, nil
}
