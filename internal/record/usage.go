// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package record

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/policyaudit/policyaudit/internal/jsonbody"
)

// A call's usage and outcome (records.md section 1, usage): tokens, cost
// and its currency, latency, the upstream's status code and the request's
// path, as the gateway reports them, for chargeback and for SIEM content.

// The input names of usage's members: the contract's own (at the top
// level, or inside a usage object), OpenAI's and LiteLLM's, and the
// OpenTelemetry GenAI and HTTP attributes.
var (
	inInputTokens  = names("usage.input_tokens", "usage.prompt_tokens", "input_tokens", "prompt_tokens", "gen_ai.usage.input_tokens")
	inOutputTokens = names("usage.output_tokens", "usage.completion_tokens", "output_tokens", "completion_tokens", "gen_ai.usage.output_tokens")
	inTotalTokens  = names("usage.total_tokens", "total_tokens")
	inCost         = names("usage.cost", "cost", "response_cost")
	inCurrency     = names("usage.currency", "currency", "cost_currency")
	inLatencyMS    = names("usage.latency_ms", "latency_ms", "duration_ms")
	inStatusCode   = names("usage.status_code", "status_code", "upstream_status", "http.response.status_code")
	inRequestPath  = names("usage.request_path", "request_path", "url.path")
)

// usage reads the call's usage; nil when the input gives none of it.
func (n *normalizer) usage() map[string]any {
	if !n.anyUsage() {
		return nil // most records: no map, no lookups
	}
	u := make(map[string]any, 8)
	for _, c := range []struct {
		member string
		ids    []name
	}{{UsageInputTokens, inInputTokens}, {UsageOutputTokens, inOutputTokens}, {UsageTotalTokens, inTotalTokens}} {
		if v, ok := n.count(c.member, c.ids, 0, maxCount); ok {
			u[c.member] = v
		}
	}
	if _, ok := u[UsageTotalTokens]; !ok {
		in, okIn := u[UsageInputTokens].(int64)
		out, okOut := u[UsageOutputTokens].(int64)
		if okIn && okOut {
			u[UsageTotalTokens] = in + out
		}
	}
	if v, ok := n.amount(UsageCost, inCost); ok {
		u[UsageCost] = v
	}
	if v, id, ok := n.in.first(inCurrency); ok {
		s := strings.ToUpper(v.Str)
		if v.Kind == jsonbody.String && len(s) == 3 && strings.Trim(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == "" {
			u[UsageCurrency] = s
		} else {
			n.invalid(id, fieldErr("usage.currency", ReasonInvalidValue, "%v is not an ISO 4217 currency code", v.Interface()))
		}
	}
	if v, ok := n.amount(UsageLatencyMS, inLatencyMS); ok {
		if v > maxCount {
			v = maxCount
		}
		u[UsageLatencyMS] = int64(math.Round(v))
	}
	if v, ok := n.count(UsageStatusCode, inStatusCode, 100, 599); ok {
		u[UsageStatusCode] = v
	}
	if s := n.str("usage."+UsageRequestPath, inRequestPath); s != "" {
		u[UsageRequestPath] = s
	}
	if len(u) == 0 {
		return nil
	}
	return u
}

// maxCount bounds tokens and milliseconds (an int64 holds it exactly).
const maxCount = 1e15

// invalid handles a usage value of the wrong type or range: inside a usage
// object it is a schema error; under a generic top-level name (cost,
// status_code, duration_ms: a gateway may mean something else by them) it
// is left under extra, as before usage existed.
func (n *normalizer) invalid(id name, err error) {
	if strings.HasPrefix(nameTexts[id], FieldUsage+".") {
		n.fail(err)
		return
	}
	n.in.unmark(id)
}

// usageNames are every input name of usage.
var usageNames = [][]name{inInputTokens, inOutputTokens, inTotalTokens, inCost, inCurrency, inLatencyMS, inStatusCode, inRequestPath}

// anyUsage reports an input that names a member of usage.
func (n *normalizer) anyUsage() bool {
	for _, ids := range usageNames {
		if n.has(ids) {
			return true
		}
	}
	return false
}

// count reads a whole number in [lo, hi].
func (n *normalizer) count(member string, ids []name, lo, hi int64) (int64, bool) {
	v, id, ok := n.in.first(ids)
	if !ok || v.Kind == jsonbody.Null {
		return 0, false
	}
	f, ok := numberOf(*v)
	if !ok || f != math.Trunc(f) || f < float64(lo) || f > float64(hi) {
		n.invalid(id, fieldErr("usage."+member, ReasonInvalidValue, "must be a whole number from %d to %d, got %v", lo, hi, v.Interface()))
		return 0, false
	}
	return int64(f), true
}

// amount reads a number of zero or more.
func (n *normalizer) amount(member string, ids []name) (float64, bool) {
	v, id, ok := n.in.first(ids)
	if !ok || v.Kind == jsonbody.Null {
		return 0, false
	}
	f, ok := numberOf(*v)
	if !ok || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) {
		n.invalid(id, fieldErr("usage."+member, ReasonInvalidValue, "must be a number of zero or more, got %v", v.Interface()))
		return 0, false
	}
	return f, true
}

// numberOf is a JSON number (or a pdata int or double) as a float.
func numberOf(v jsonbody.Value) (float64, bool) {
	switch v.Kind {
	case jsonbody.Number, jsonbody.Float:
		f, err := strconv.ParseFloat(v.Str, 64)
		return f, err == nil
	case jsonbody.Int:
		i, err := strconv.ParseInt(v.Str, 10, 64)
		return float64(i), err == nil
	}
	return 0, false
}

// checkUsage holds usage read back from a canonical record to what
// Normalize writes: known members, of their types.
func checkUsage(u map[string]any) error {
	for k, v := range u {
		switch k {
		case UsageInputTokens, UsageOutputTokens, UsageTotalTokens, UsageLatencyMS, UsageStatusCode:
			if i, ok := v.(int64); !ok || i < 0 {
				return fmt.Errorf("usage.%s: not a whole number", k)
			}
		case UsageCost:
			switch c := v.(type) {
			case float64:
				if c < 0 {
					return errors.New("usage.cost: negative")
				}
			case int64:
				if c < 0 {
					return errors.New("usage.cost: negative")
				}
			default:
				return errors.New("usage.cost: not a number")
			}
		case UsageCurrency, UsageRequestPath:
			if _, ok := v.(string); !ok {
				return fmt.Errorf("usage.%s: not a string", k)
			}
		default:
			return fmt.Errorf("usage.%s: not a member of usage", k)
		}
	}
	return nil
}
