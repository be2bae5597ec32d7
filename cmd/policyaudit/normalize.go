// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/policyaudit/policyaudit/internal/dialects"
	"github.com/policyaudit/policyaudit/internal/jsonbody"
	"github.com/policyaudit/policyaudit/internal/ocsf"
	"github.com/policyaudit/policyaudit/internal/pdatajson"
	"github.com/policyaudit/policyaudit/internal/record"
)

// normalize prints the canonical records a payload becomes, as the
// policygateway receiver's endpoint for its dialect reads it, named as the
// policydecision processor names them without an id_key: a user checks what
// their own gateway sends without running a collector. The processor's data
// policy (prompt text removed, PII rules) applies after this.
func normalize(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("normalize", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dialect := fs.String("dialect", "decisions", "the payload's dialect: "+dialectUsage())
	asOCSF := fs.Bool("ocsf", false, "print each record as the OCSF 1.8.0 event destination ocsf writes (and its Detection Finding, for an enforced deny or escalation)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	d, ok := dialects.ByName(*dialect)
	if !ok {
		fmt.Fprintf(stderr, "normalize: unknown dialect %q (%s)\n", *dialect, dialects.Names())
		return 2
	}
	var body []byte
	var err error
	switch fs.NArg() {
	case 0:
		body, err = io.ReadAll(stdin)
	case 1:
		body, err = os.ReadFile(fs.Arg(0))
	default:
		fmt.Fprintln(stderr, "normalize: one file, or the payload on standard input")
		return 2
	}
	if err != nil {
		fmt.Fprintln(stderr, "normalize:", err)
		return 2
	}

	namer := record.NewNamer(nil)
	// The collector also names its version (its build's); the command has none.
	product := ocsf.Product{Name: "policyaudit", Vendor: "policyaudit"}
	var out []byte
	err = jsonbody.Split(body, false, jsonbody.DefaultLimits, func(pos jsonbody.Position, obj jsonbody.Value) error {
		recs, err := d.Normalize(nil, obj, record.Hints{})
		if err != nil {
			return fmt.Errorf("%s: %w", pos, err)
		}
		for _, rec := range recs {
			m := pcommon.NewMap()
			rec.CopyTo(m)
			namer.Name(rec, m)
			if !*asOCSF {
				out = append(pdatajson.AppendMap(out, m), '\n')
				continue
			}
			ev := pcommon.NewMap()
			ocsf.Event(rec, m, product, ev)
			out = append(pdatajson.AppendMap(out, ev), '\n')
			if ocsf.WantsFinding(rec) {
				f := pcommon.NewMap()
				ocsf.Finding(rec, m, product, f)
				out = append(pdatajson.AppendMap(out, f), '\n')
			}
		}
		return nil
	})
	if err != nil {
		fmt.Fprintln(stderr, "normalize: the receiver would refuse this payload (400):", err)
		return 1
	}
	if _, err := stdout.Write(out); err != nil {
		return 2
	}
	return 0
}

// dialectUsage names each dialect with its endpoint, or what it is.
func dialectUsage() string {
	parts := make([]string, len(dialects.All))
	for i, d := range dialects.All {
		where := d.Path
		if where == "" {
			where = d.Doc
		}
		parts[i] = d.Name + " (" + where + ")"
	}
	return strings.Join(parts, ", ")
}
