// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
)

// locateAuditStore asks the query API of the audit store the exporter
// appends to (the auditstore extension it names) for the decisions and admin
// events of the correlation ID.
func locateAuditStore(ctx context.Context, use exporterUse, cid string, opts locateOptions) ([]located, error) {
	storeID := orDefault(str(use.Config, "store"), "auditstore")
	store := mapAt(opts.Config, "extensions", storeID)
	if store == nil {
		return nil, fmt.Errorf("the exporter appends to the extension %s, which the config does not define", storeID)
	}
	endpoint := orDefault(str(store, "query", "endpoint"), "127.0.0.1:4321")
	scheme := "http"
	if mapAt(store, "query", "tls") != nil {
		scheme = "https"
	}
	auth := ""
	if ext := str(store, "query", "auth", "authenticator"); ext != "" {
		token := str(opts.Config, "extensions", ext, "token")
		if token == "" {
			return nil, fmt.Errorf("the query API uses %s, whose token is not in the config", ext)
		}
		auth = orDefault(str(opts.Config, "extensions", ext, "scheme"), "Bearer") + " " + token
	}
	var out []located
	for _, path := range []string{"/api/v1/decisions", "/admin/api/v1/audit"} {
		u := scheme + "://" + endpoint + path + "?limit=100&correlation_id=" + url.QueryEscape(cid)
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, err
		}
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		var page struct {
			Records []struct {
				Chain  string          `json:"chain"`
				Seq    int64           `json:"seq"`
				Record json.RawMessage `json:"record"`
			} `json:"records"`
		}
		if err := getJSON(opts.Client, req, &page); err != nil {
			return nil, err
		}
		for _, row := range page.Records {
			var rec map[string]any
			if err := json.Unmarshal(row.Record, &rec); err != nil {
				return nil, fmt.Errorf("record seq %d: %w", row.Seq, err)
			}
			where := fmt.Sprintf("%s seq %d", endpoint, row.Seq)
			if row.Chain != "" {
				where = fmt.Sprintf("%s chain %s seq %d", endpoint, row.Chain, row.Seq)
			}
			out = append(out, located{Where: where, Record: rec})
		}
	}
	return out, nil
}
