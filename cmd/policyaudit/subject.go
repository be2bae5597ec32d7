// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

// subject is `policyaudit subject export|erase`: a person's rights over the
// trail, answered through the audit store's admin API (the store and its
// vault, found from --config like verify --correlation-id does), and for
// erasure a report of the copies each destination may hold from before
// the person's value was tokenised (subject_report.go).
func subject(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "export" && args[0] != "erase") {
		fmt.Fprintln(stderr, "usage: policyaudit subject export|erase --subject VALUE --config FILE... (see policyaudit help)")
		return 2
	}
	op := args[0]
	fs := flag.NewFlagSet("subject "+op, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f subjectFlags
	fs.Var(&f.values, "subject", "one of the person's values as the gateway sent it (a user ID, an e-mail address, an API key ID); repeat it for each: each value has its own token")
	fs.Var(&f.configs, "config", "collector config file (repeatable, merged in order like the collector's --config)")
	fs.StringVar(&f.out, "out", "", "export: write the JSON lines here instead of standard output")
	fs.StringVar(&f.reason, "reason", "", "erase: why (recorded in the chain)")
	fs.StringVar(&f.actor, "actor", os.Getenv("USER"), "erase: who asks (recorded in the chain)")
	fs.StringVar(&f.since, "since", "", "erase: YYYY-MM-DD, the first date partition of S3 and file exports to search (default: all)")
	fs.StringVar(&f.until, "until", "", "erase: YYYY-MM-DD, the last date partition searched")
	fs.StringVar(&f.format, "format", "text", "erase: the report as text or json")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	var problems []string
	if len(f.values) == 0 {
		problems = append(problems, "--subject is required")
	}
	if len(f.configs) == 0 {
		problems = append(problems, "--config is required")
	}
	if op == "erase" && strings.TrimSpace(f.reason) == "" {
		problems = append(problems, "--reason is required (it is recorded in the chain)")
	}
	if op == "erase" && strings.TrimSpace(f.actor) == "" {
		problems = append(problems, "--actor is required (who asks is recorded in the chain)")
	}
	if f.format != "text" && f.format != "json" {
		problems = append(problems, "--format must be text or json")
	}
	if len(problems) > 0 {
		fmt.Fprintln(stderr, "subject "+op+": "+strings.Join(problems, "; "))
		return 2
	}
	cfg, err := loadCollectorConfig(f.configs)
	if err != nil {
		fmt.Fprintln(stderr, "subject: reading the collector config:", err)
		return 2
	}
	admin, err := adminAPIOf(cfg)
	if err != nil {
		fmt.Fprintln(stderr, "subject:", err)
		return 2
	}
	if op == "export" {
		return subjectExport(ctx, admin, f, stdout, stderr)
	}
	return subjectErase(ctx, admin, cfg, f, stdout, stderr)
}

type subjectFlags struct {
	out, reason, actor, since, until, format string
	values, configs                          stringList
}

// adminAPI is the audit store's admin API, as the config describes it.
type adminAPI struct {
	base, token string
	client      *http.Client
}

// adminAPIOf is the query endpoint and admin token of the config's audit
// store (storeExtensionID: the one that keeps the vault).
func adminAPIOf(cfg collectorConfig) (adminAPI, error) {
	id := storeExtensionID(cfg)
	ext, err := storeExtension(cfg)
	if err != nil {
		return adminAPI{}, err
	}
	token := str(ext, "admin", "token")
	if token == "" {
		return adminAPI{}, fmt.Errorf("the audit store %s has no admin.token in the config (set POLICYAUDIT_ADMIN_TOKEN in this environment as in the collector's)", id)
	}
	scheme := "http"
	if mapAt(ext, "query", "tls") != nil {
		scheme = "https"
	}
	return adminAPI{
		base:   scheme + "://" + orDefault(str(ext, "query", "endpoint"), "127.0.0.1:4321"),
		token:  token,
		client: &http.Client{Timeout: 5 * time.Minute},
	}, nil
}

// post sends body to an admin endpoint and returns the answer's status and body.
func (a adminAPI) post(ctx context.Context, path string, body any) (int, []byte, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return 0, nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.base+path, bytes.NewReader(b))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+a.token)
	resp, err := a.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 1<<30))
	return resp.StatusCode, out, err
}

// get reads an admin-authorised GET answer into out.
func (a adminAPI) get(ctx context.Context, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.base+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	return getJSON(a.client, req, out)
}

// subjectExport writes the person's records, value by value (each with
// its own token), as JSON lines with their links and a summary line per
// value; it exits 1 when the chain did not verify. Nothing is written
// unless every answer is complete.
func subjectExport(ctx context.Context, admin adminAPI, f subjectFlags, stdout, stderr io.Writer) int {
	var all bytes.Buffer
	code := 0
	for _, v := range f.values {
		status, body, err := admin.post(ctx, "/admin/api/v1/subjects/export", map[string]string{"subject": v, "actor": f.actor})
		if err != nil {
			fmt.Fprintln(stderr, "subject export:", err)
			return 2
		}
		if status != http.StatusOK {
			fmt.Fprintf(stderr, "subject export: %d %s\n", status, strings.TrimSpace(string(body)))
			return 2
		}
		var summary struct {
			Summary *struct {
				Records      int `json:"records"`
				Verification struct {
					OK bool `json:"ok"`
				} `json:"verification"`
			} `json:"summary"`
		}
		sc := bufio.NewScanner(bytes.NewReader(body))
		sc.Buffer(nil, 64<<20)
		for sc.Scan() {
			summary.Summary = nil
			_ = json.Unmarshal(sc.Bytes(), &summary)
		}
		switch {
		case summary.Summary == nil:
			fmt.Fprintln(stderr, "subject export: an answer has no summary line: the export is incomplete, nothing written")
			return 2
		case !summary.Summary.Verification.OK:
			fmt.Fprintf(stderr, "subject export: %d records; the chain does NOT verify (see the summary line)\n", summary.Summary.Records)
			code = 1
		default:
			fmt.Fprintf(stderr, "subject export: %d records; the chain verifies\n", summary.Summary.Records)
		}
		all.Write(body)
	}
	w := stdout
	if f.out != "" {
		file, err := os.Create(f.out)
		if err != nil {
			fmt.Fprintln(stderr, "subject export:", err)
			return 2
		}
		defer file.Close()
		w = file
	}
	if _, err := w.Write(all.Bytes()); err != nil {
		fmt.Fprintln(stderr, "subject export:", err)
		return 2
	}
	return code
}

// erasure is the store's answer to an erasure.
type erasure struct {
	Token   string   `json:"token"`
	EventID string   `json:"event_id"`
	Records int64    `json:"records"`
	Related []string `json:"related_tokens"`
}

// subjectErase erases the person in the vault, then reports, destination
// by destination, the copies that may still hold their value or its keyed
// hash, removing them where the exporter's credentials allow.
func subjectErase(ctx context.Context, admin adminAPI, cfg collectorConfig, f subjectFlags, stdout, stderr io.Writer) int {
	var rep erasureReport
	for _, v := range f.values {
		status, body, err := admin.post(ctx, "/admin/api/v1/subjects/erase", map[string]string{"subject": v, "reason": f.reason, "actor": f.actor})
		if err != nil {
			fmt.Fprintln(stderr, "subject erase:", err)
			return 2
		}
		switch status {
		case http.StatusOK:
			var er erasure
			if err := json.Unmarshal(body, &er); err != nil {
				fmt.Fprintln(stderr, "subject erase:", err)
				return 2
			}
			rep.Erased = append(rep.Erased, &er)
		case http.StatusNotFound:
			rep.Erased = append(rep.Erased, nil)
			rep.NotInVault++
		default:
			fmt.Fprintf(stderr, "subject erase: %d %s\n", status, strings.TrimSpace(string(body)))
			return 2
		}
	}
	rep.Copies = copiesOf(ctx, cfg, admin, f)
	if f.format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		_ = enc.Encode(rep)
	} else {
		rep.writeText(stdout)
	}
	for _, c := range rep.Copies {
		if c.Status == copyError {
			return 1
		}
	}
	return 0
}
