// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package ocsf

import (
	"math"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/policyaudit/policyaudit/internal/record"
)

// A decision's usage (records.md, usage) where OCSF has a place for it in
// an API Activity: the tokens in the AI Operation profile's
// message_context, the upstream's status code and latency in
// http_response (and the latency as the event's duration), the request's
// path in http_request.url. Cost and currency have no OCSF attribute: they
// stay in unmapped.usage, as does a token count beyond OCSF's 32-bit
// integer_t.

// usageMapping is what usageOf found.
type usageMapping struct {
	messageContext *MessageContext
	httpRequest    *HTTPRequest
	httpResponse   *HTTPResponse
	duration       *int64
	rest           pcommon.Map // the members left for unmapped.usage; zero: none
}

// usageOf maps canonical's usage; service names the AI service the tokens
// were spent at (message_context needs an application or a service).
func usageOf(canonical pcommon.Map, service string) usageMapping {
	var m usageMapping
	v, ok := canonical.Get(record.FieldUsage)
	if !ok || v.Type() != pcommon.ValueTypeMap {
		return m
	}
	usage := v.Map()
	mapped := map[string]bool{}
	int32Of := func(member string) *int32 {
		v, ok := usage.Get(member)
		if !ok {
			return nil
		}
		n, ok := integer(v)
		if !ok || n < math.MinInt32 || n > math.MaxInt32 {
			return nil
		}
		mapped[member] = true
		return ptr(int32(n))
	}
	mc := &MessageContext{PromptTokens: int32Of(record.UsageInputTokens), CompletionTokens: int32Of(record.UsageOutputTokens), TotalTokens: int32Of(record.UsageTotalTokens)}
	if mc.PromptTokens != nil || mc.CompletionTokens != nil || mc.TotalTokens != nil {
		mc.Service = &APIService{Name: ptr(orUnknown(service))}
		m.messageContext = mc
	}
	latency := int32Of(record.UsageLatencyMS)
	if latency != nil {
		m.duration = ptr(int64(*latency))
	}
	if code := int32Of(record.UsageStatusCode); code != nil {
		m.httpResponse = &HTTPResponse{Code: *code, Latency: latency}
	}
	if p, ok := usage.Get(record.UsageRequestPath); ok && p.Type() == pcommon.ValueTypeStr && p.Str() != "" {
		m.httpRequest = &HTTPRequest{URL: &URL{Path: ptr(p.Str())}}
		mapped[record.UsageRequestPath] = true
	}
	for k, e := range usage.All() {
		if mapped[k] {
			continue
		}
		if m.rest == (pcommon.Map{}) {
			m.rest = pcommon.NewMap()
		}
		e.CopyTo(m.rest.PutEmpty(k))
	}
	return m
}

// apply sets the mapping on row; rest goes to unmapped.usage.
func (m usageMapping) apply(row *EventRow) {
	row.MessageContext, row.HTTPRequest, row.HTTPResponse, row.Duration = m.messageContext, m.httpRequest, m.httpResponse, m.duration
	if m.rest == (pcommon.Map{}) {
		return
	}
	if row.Unmapped == (pcommon.Map{}) {
		row.Unmapped = pcommon.NewMap()
	}
	m.rest.CopyTo(row.Unmapped.PutEmptyMap(record.FieldUsage))
}

// putUsage writes the usage attributes of r to a body.
func putUsage(ev pcommon.Map, r *EventRow) {
	if r.Duration != nil {
		ev.PutInt("duration", *r.Duration)
	}
	if r.HTTPRequest != nil && r.HTTPRequest.URL != nil {
		putStr(ev.PutEmptyMap("http_request").PutEmptyMap("url"), "path", r.HTTPRequest.URL.Path)
	}
	if h := r.HTTPResponse; h != nil {
		hm := ev.PutEmptyMap("http_response")
		hm.PutInt("code", int64(h.Code))
		putInt32(hm, "latency", h.Latency)
	}
	if mc := r.MessageContext; mc != nil {
		mm := ev.PutEmptyMap("message_context")
		putInt32(mm, "prompt_tokens", mc.PromptTokens)
		putInt32(mm, "completion_tokens", mc.CompletionTokens)
		putInt32(mm, "total_tokens", mc.TotalTokens)
		if mc.Service != nil {
			putStr(mm.PutEmptyMap("service"), "name", mc.Service.Name)
		}
	}
}
