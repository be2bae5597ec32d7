// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// locateElasticsearch searches the logs-* data streams for the correlation
// ID, in the field the processor's destination puts it in.
func locateElasticsearch(ctx context.Context, use exporterUse, cid string, opts locateOptions) ([]located, error) {
	nested := esNested(use)
	field := "correlation_id"
	if nested {
		field = "policy.correlation_id"
	}
	req, err := esRequest(ctx, use, "/logs-*/_search", correlationQuery(field, cid))
	if err != nil {
		return nil, err
	}
	var res struct {
		Hits struct {
			Hits []struct {
				Index  string         `json:"_index"`
				ID     string         `json:"_id"`
				Source map[string]any `json:"_source"`
			} `json:"hits"`
		} `json:"hits"`
	}
	if err := getJSON(opts.Client, req, &res); err != nil {
		return nil, err
	}
	out := make([]located, 0, len(res.Hits.Hits))
	for _, h := range res.Hits.Hits {
		rec := h.Source
		if nested {
			rec, _ = h.Source["policy"].(map[string]any)
		}
		// The phrase clause also matches an analysed value that only
		// contains the ID's words ("x-es-7" for "es-7", "ES-7"): only the
		// exact ID counts.
		if got, _ := rec["correlation_id"].(string); got != cid {
			continue
		}
		out = append(out, located{Where: fmt.Sprintf("%s/_doc/%s", h.Index, h.ID), Record: rec})
	}
	return out, nil
}

// esNested: the processor's destination elasticsearch puts the canonical
// record under policy in the document.
func esNested(use exporterUse) bool { return str(use.Processor, "destination") == "elasticsearch" }

// esRequest is a POST of body to path on the exporter's endpoint, with its
// credentials.
func esRequest(ctx context.Context, use exporterUse, path string, body any) (*http.Request, error) {
	endpoint := str(use.Config, "endpoint")
	if eps := strings1(use.Config["endpoints"]); len(eps) > 0 {
		endpoint = eps[0]
	}
	if endpoint == "" {
		return nil, errors.New("the exporter has no endpoint (cloudid is not supported here)")
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(endpoint, "/")+path, bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	switch {
	case str(use.Config, "api_key") != "":
		req.Header.Set("Authorization", "ApiKey "+str(use.Config, "api_key"))
	case str(use.Config, "user") != "":
		creds := str(use.Config, "user") + ":" + str(use.Config, "password")
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(creds)))
	}
	return req, nil
}

// correlationQuery finds a correlation ID whatever the field's mapping:
// keyword (deploy/elasticsearch's index template) matches the term;
// dynamic mapping without a template (a bare cluster, OpenSearch) makes it
// text with a keyword sub-field, where the term on the field itself
// matches nothing (the value is analysed: "es-7" is stored as "es" and
// "7") but the term on field.keyword does; text without that sub-field,
// or a value longer than its ignore_above, only a phrase finds. A phrase
// on a keyword field is the same exact term, so the three together match
// the ID however it was mapped, and a few look-alikes that the caller
// drops.
func correlationQuery(field, cid string) map[string]any {
	return map[string]any{
		"size": 100,
		"query": map[string]any{"bool": map[string]any{
			"should": []any{
				map[string]any{"term": map[string]any{field: cid}},
				map[string]any{"term": map[string]any{field + ".keyword": cid}},
				map[string]any{"match_phrase": map[string]any{field: cid}},
			},
			"minimum_should_match": 1,
		}},
	}
}
