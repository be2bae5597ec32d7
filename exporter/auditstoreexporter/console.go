package auditstoreexporter

import (
	"bytes"
	"embed"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"time"
)

// The console: a read-only web view of the store at the query endpoint's
// root. Every page is one static shell (console/shell.html) holding no data; its
// one script fetches the page's content from /console/fragment/..., a route
// of the query API behind its authenticator like the JSON API, with the
// bearer token as a header. The server renders and escapes that content
// (html/template); the browser runs no script but console.js.

//go:embed console
var consoleFiles embed.FS

// consolePages are the console's addresses; each serves the same shell.
var consolePages = []string{"/{$}", "/search", "/records/{event_id}", "/admin", "/integrity"}

// consolePolicy allows the shell's own script and stylesheet and nothing
// else: no inline script or style, no other origin, no framing.
const consolePolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// securityHeaders are set on every console response, shell and fragments.
func securityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", consolePolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
}

// withConsoleShell serves the shell and its static files without
// authentication (they hold no record) and hands every other request to
// api, the query server's handler with its authenticator.
func withConsoleShell(api http.Handler) http.Handler {
	shell, _ := consoleFiles.ReadFile("console/shell.html")
	static, _ := fs.Sub(consoleFiles, "console/static")
	files := http.StripPrefix("/console/static/", http.FileServer(http.FS(static)))
	mux := http.NewServeMux()
	for _, p := range consolePages {
		mux.HandleFunc("GET "+p, func(w http.ResponseWriter, r *http.Request) {
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

func isConsolePath(p string) bool {
	switch p {
	case "/", "/search", "/admin", "/integrity":
		return true
	}
	return strings.HasPrefix(p, "/records/") || strings.HasPrefix(p, "/console/")
}

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
