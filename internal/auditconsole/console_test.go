// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package auditconsole

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
)

// The one table of pages gives the nav, the shell's addresses, the
// fragment routes and the paths the console answers for: a new page is one
// row.
func TestPagesMakeNavRoutesAndPaths(t *testing.T) {
	for _, p := range pages {
		if p.nav != "" {
			assert.Contains(t, string(shell), `<a href="`+p.href()+`">`+p.nav+`</a>`)
		}
		assert.True(t, isConsolePath(p.href()), p.path)
		assert.True(t, isConsolePath(p.fragment()), p.fragment())
	}
	assert.True(t, isConsolePath("/records/any-event-id"))
	assert.False(t, isConsolePath("/api/v1/decisions"))
	assert.False(t, isConsolePath("/searchx"))

	api := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	h := WithShell(api)
	for path, want := range map[string]int{"/": 200, "/search": 200, "/records/e-1": 200, "/admin": 200, "/integrity": 200, "/api/v1/head": http.StatusTeapot} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		assert.Equal(t, want, rec.Code, path)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/admin", nil))
	assert.Equal(t, http.StatusMethodNotAllowed, rec.Code, "the console is read-only")
}
