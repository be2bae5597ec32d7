// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/policyaudit/policyaudit/internal/auditstore"
	"github.com/policyaudit/policyaudit/internal/usagereport"
)

// report is `policyaudit report usage`: the usage of the decisions created
// in a range, by project, user, model or policy, from the audit store the
// config names, for chargeback.
func report(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "usage" {
		fmt.Fprintln(stderr, "usage: policyaudit report usage --from T --to T --by project|user|model|policy [--format csv|json] --config FILE...")
		return 2
	}
	fs := flag.NewFlagSet("report usage", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var configs stringList
	fs.Var(&configs, "config", "collector config file (repeatable, merged in order like the collector's --config)")
	from := fs.String("from", "", "RFC 3339: the first instant (decisions by created_at)")
	to := fs.String("to", "", "RFC 3339: the end, excluded")
	by := fs.String("by", "project", "project, user, model or policy")
	format := fs.String("format", "csv", "csv or json")
	if _, err := parseInterspersed(fs, args[1:]); err != nil {
		return 2
	}
	fromT, toT, problems := parseRange(*from, *to)
	rep, err := usagereport.New(*by)
	if err != nil {
		problems = append(problems, "--by: "+err.Error())
	}
	if *format != "csv" && *format != "json" {
		problems = append(problems, "--format: csv or json")
	}
	if len(configs) == 0 {
		problems = append(problems, "--config is required")
	}
	if len(problems) > 0 {
		fmt.Fprintln(stderr, "report usage: "+strings.Join(problems, "; "))
		return 2
	}
	cfg, err := loadCollectorConfig(configs)
	if err != nil {
		fmt.Fprintln(stderr, "report usage: reading the collector config:", err)
		return 2
	}
	ext, err := storeExtension(cfg)
	if err != nil {
		fmt.Fprintln(stderr, "report usage:", err)
		return 2
	}
	st, err := openStore(ctx, ext)
	if err != nil {
		fmt.Fprintln(stderr, "report usage:", err)
		return 2
	}
	defer st.Close()
	sn, err := st.Snapshot(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "report usage:", err)
		return 2
	}
	defer sn.Close()
	if err := sn.UsageCreated(ctx, fromT, toT, *by, false, func(g auditstore.UsageGroup) error { rep.Add(g); return nil }); err != nil {
		fmt.Fprintln(stderr, "report usage:", err)
		return 2
	}
	rows := rep.Rows()
	if *format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(map[string]any{"from": *from, "to": *to, "by": *by, "rows": rows})
		return 0
	}
	_, _ = stdout.Write(usagereport.CSV(*by, rows))
	return 0
}
