// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package auditapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/policyaudit/policyaudit/internal/record"
)

// Params reads query parameters, refusing unknown ones (a typo in a filter
// must not silently widen the answer).
type Params struct {
	q    url.Values
	errs []string
}

// NewParams reads r's query, allowing only the named parameters.
func NewParams(r *http.Request, allowed ...string) *Params {
	p := &Params{q: r.URL.Query()}
	for name := range p.q {
		known := false
		for _, a := range allowed {
			known = known || a == name
		}
		if !known {
			p.errs = append(p.errs, fmt.Sprintf("%s: unknown parameter (accepted: %s)", name, strings.Join(allowed, ", ")))
		}
	}
	return p
}

// Add records a problem with the parameters.
func (p *Params) Add(problem string) { p.errs = append(p.errs, problem) }

// Problems are the problems found so far, joined; "" when there is none.
func (p *Params) Problems() string { return strings.Join(p.errs, "; ") }

// Str is a parameter as given.
func (p *Params) Str(name string) string { return p.q.Get(name) }

// userParam is the user filter: user, or policy_user, its alias.
func (p *Params) userParam() string {
	user, alias := p.q.Get("user"), p.q.Get(record.FieldPolicyUser)
	if user != "" && alias != "" && user != alias {
		p.errs = append(p.errs, "user and policy_user: give one (policy_user is an alias of user)")
	}
	if user == "" {
		return alias
	}
	return user
}

// PositiveInt is a positive integer parameter, def when absent.
func (p *Params) PositiveInt(name string, def int) int {
	v := p.q.Get(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		p.errs = append(p.errs, fmt.Sprintf("%s: %q is not a positive integer", name, v))
		return def
	}
	return n
}

// Time accepts RFC 3339 or a date (YYYY-MM-DD, midnight UTC).
func (p *Params) Time(name string) time.Time {
	v := p.q.Get(name)
	if v == "" {
		return time.Time{}
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t
	}
	if t, err := time.Parse("2006-01-02", v); err == nil {
		return t
	}
	p.errs = append(p.errs, fmt.Sprintf("%s: %q is not an RFC 3339 time or a YYYY-MM-DD date", name, v))
	return time.Time{}
}

// Failed answers 400 naming every bad parameter, when there is one.
func (p *Params) Failed(w http.ResponseWriter) bool {
	if len(p.errs) == 0 {
		return false
	}
	WriteJSON(w, http.StatusBadRequest, map[string]any{"error": strings.Join(p.errs, "; ")})
	return true
}

// limit caps the requested page size at max_query_limit.
// WriteJSON answers v as JSON.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // records as stored: their RFC 8785 bytes
	_ = enc.Encode(v)
}
