// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

// Package auditconsole is the audit store's read-only web console: a
// timeline of decisions with the admin events that changed their policies,
// search, a record with its place in the chain, admin events, and the
// chain's integrity. Every page is one static shell (console/shell.html)
// holding no data; its one script fetches the page's content from
// /console/fragment/..., a route of the query API behind its authenticator
// like the JSON API, with the bearer token as a header. The server renders
// and escapes that content (html/template); the browser runs no script but
// console.js. The pages are one table (pages): the shell's routes, the
// fragment routes, the nav and the console's own paths all come from it.
package auditconsole // import "github.com/policyaudit/policyaudit/internal/auditconsole"

import (
	"bytes"
	"embed"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/policyaudit/policyaudit/internal/auditapi"
	store "github.com/policyaudit/policyaudit/internal/auditstore"
)

//go:embed console
var consoleFiles embed.FS

// Console renders the console's pages from a store, through its JSON API's
// verifications and limits.
type Console struct {
	api   *auditapi.API
	store *store.Store
}

// New is the console over api's store.
func New(api *auditapi.API) *Console { return &Console{api: api, store: api.Store()} }

// page is one console page: where its shell is served (a ServeMux pattern),
// its name in the nav ("" for a page reached from another), and what
// renders its content at /console/fragment<path> (the root's at
// /console/fragment/timeline, as console.js asks for it).
type page struct {
	path   string
	nav    string
	render func(*Console, http.ResponseWriter, *http.Request)
}

// pages are the console's pages, in nav order.
var pages = []page{
	{path: "/{$}", nav: "Timeline", render: (*Console).timeline},
	{path: "/search", nav: "Search", render: (*Console).search},
	{path: "/records/{event_id}", render: (*Console).record},
	{path: "/admin", nav: "Admin events", render: (*Console).admin},
	{path: "/usage", nav: "Usage", render: (*Console).usage},
	{path: "/integrity", nav: "Integrity", render: (*Console).integrity},
}

// href is the address a page's pattern names (the root for "/{$}").
func (p page) href() string { return strings.TrimSuffix(p.path, "{$}") }

// fragment is the route of the page's content.
func (p page) fragment() string {
	if p.href() == "/" {
		return "/console/fragment/timeline"
	}
	return "/console/fragment" + p.path
}

// Register adds the pages' content routes to mux (the query API's, behind
// its authenticator).
func (c *Console) Register(mux *http.ServeMux) {
	for _, p := range pages {
		render := p.render
		mux.HandleFunc("GET "+p.fragment(), func(w http.ResponseWriter, r *http.Request) { render(c, w, r) })
	}
}

// ContentSecurityPolicy of every console response allows the shell's own
// script and stylesheet and nothing else: no inline script or style, no
// other origin, no framing.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// securityHeaders are set on every console response, shell and fragments.
func securityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
}

// WithShell serves the shell and its static files without authentication
// (they hold no record) and hands every other request to api, the query
// server's handler with its authenticator.
func WithShell(api http.Handler) http.Handler {
	static, _ := fs.Sub(consoleFiles, "console/static")
	files := http.StripPrefix("/console/static/", http.FileServer(http.FS(static)))
	mux := http.NewServeMux()
	for _, p := range pages {
		mux.HandleFunc("GET "+p.path, func(w http.ResponseWriter, r *http.Request) {
			securityHeaders(w.Header())
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(shell))
		})
	}
	mux.HandleFunc("GET /console/static/", func(w http.ResponseWriter, r *http.Request) {
		securityHeaders(w.Header())
		w.Header().Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if isConsolePath(r.URL.Path) && r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", http.MethodGet)
			http.Error(w, r.Method+" is not allowed: the console is read-only", http.StatusMethodNotAllowed)
			return
		}
		api.ServeHTTP(w, r)
	})
	return mux
}

// isConsolePath: a page, a fragment or a static file of the console.
func isConsolePath(path string) bool {
	if strings.HasPrefix(path, "/console/") {
		return true
	}
	for _, p := range pages {
		prefix, wildcard, hasWildcard := strings.Cut(p.path, "{")
		switch {
		case !hasWildcard, wildcard == "$}":
			if path == p.href() {
				return true
			}
		case strings.HasPrefix(path, prefix):
			return true
		}
	}
	return false
}

// shell is the one page every console address serves, its nav made from
// pages.
var shell = func() []byte {
	type link struct{ Href, Label string }
	var nav []link
	for _, p := range pages {
		if p.nav != "" {
			nav = append(nav, link{Href: p.href(), Label: p.nav})
		}
	}
	var buf bytes.Buffer
	if err := template.Must(template.ParseFS(consoleFiles, "console/shell.html")).Execute(&buf, nav); err != nil {
		panic(err) // a fixed template over fixed data: a build defect, caught by every console test
	}
	return buf.Bytes()
}()

// consoleTemplates are the fragments, parsed once.
var consoleTemplates = template.Must(template.New("").Funcs(consoleFuncs).ParseFS(consoleFiles, "console/*.tmpl"))

// renderFragment writes one page's content.
func renderFragment(w http.ResponseWriter, status int, name string, data any) {
	var buf bytes.Buffer
	if err := consoleTemplates.ExecuteTemplate(&buf, name, data); err != nil {
		status, buf = http.StatusInternalServerError, bytes.Buffer{}
		_ = consoleTemplates.ExecuteTemplate(&buf, "problem", problemPage{Title: "The console failed", Problem: err.Error()})
	}
	securityHeaders(w.Header())
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

type problemPage struct {
	Title, Problem string
}

func renderProblem(w http.ResponseWriter, status int, title, problem string) {
	renderFragment(w, status, "problem", problemPage{Title: title, Problem: problem})
}
