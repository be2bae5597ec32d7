// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package auditconsole

import (
	"html/template"
	"net/url"
)

// consoleFuncs are the helpers the fragments use; html/template escapes
// what they return for where it lands.
var consoleFuncs = template.FuncMap{
	"thousands": thousands,
	// recordHref is a record page's address; the event ID is one path
	// segment whatever it holds.
	"recordHref": func(eventID string) template.URL {
		return template.URL("/records/" + url.PathEscape(eventID)) // #nosec: a relative path, the ID escaped
	},
	"searchHref": func(q string) template.URL {
		return template.URL("/search?" + url.Values{"q": {q}}.Encode()) // #nosec: url.Values-encoded, relative
	},
}
