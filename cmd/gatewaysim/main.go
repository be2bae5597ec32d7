// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

// Command gatewaysim is an LLM gateway simulator: it generates realistic
// policy decisions and admin audit events in every dialect of the record
// contract (users, projects, models, categories, a verdict mix, shadow,
// canary and enforced rollouts, policy versions that change over the day,
// timestamps across midnight) and sends them to the policygateway receiver,
// or as OTLP logs to any collector, at a target rate or flat out.
//
//	gatewaysim -url http://127.0.0.1:4320 -records 36000 -span 1h -rate 5000
//	gatewaysim -mode otlp -url http://127.0.0.1:4318 -records 1000000
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/policyaudit/policyaudit/internal/gatewaysim"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gatewaysim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "http://127.0.0.1:4320", "the receiver's base URL")
	mode := fs.String("mode", "gateway", "gateway: JSON to the policygateway receiver; otlp: OTLP/HTTP logs to any collector")
	token := fs.String("token", os.Getenv("POLICYAUDIT_RECEIVER_TOKEN"), "bearer token (default $POLICYAUDIT_RECEIVER_TOKEN)")
	records := fs.Int("records", 36000, "records to send")
	rate := fs.Float64("rate", 0, "records per second; 0 sends flat out")
	batch := fs.Int("batch", 500, "records per request")
	workers := fs.Int("workers", 4, "concurrent requests")
	start := fs.String("start", "", "simulated time of the first record, RFC 3339 (default: 30 minutes before last midnight UTC, so the span crosses it)")
	span := fs.Duration("span", time.Hour, "simulated time the records cover")
	seed := fs.Uint64("seed", 1, "seed of the generator: the same seed, the same records")
	edit := fs.Duration("edit", 0, "script a policy edit this far into the span: an administrator tightens the "+gatewaysim.EditedPolicy+" policy (one policy.update), whose decisions then deny far more often; the other admin events change no policy (0: no edit)")
	only := fs.String("dialects", "", "comma-separated subset of flat,router,opa,admin (default: the realistic mix)")
	waitReady := fs.Duration("wait-ready", 0, "first wait up to this long for the receiver to accept connections (a container started beside the collector)")
	stay := fs.Bool("stay", false, "after sending, stay until interrupted (a container standing in for a gateway in a pod, which must not exit)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *mode != string(gatewaysim.Gateway) && *mode != string(gatewaysim.OTLP) {
		fmt.Fprintf(stderr, "gatewaysim: -mode %q is not gateway or otlp\n", *mode)
		return 2
	}
	first := time.Now().UTC().Truncate(24 * time.Hour).Add(-30 * time.Minute)
	if *start != "" {
		t, err := time.Parse(time.RFC3339, *start)
		if err != nil {
			fmt.Fprintln(stderr, "gatewaysim: -start:", err)
			return 2
		}
		first = t
	}
	if *edit < 0 || *edit >= *span {
		fmt.Fprintf(stderr, "gatewaysim: -edit %s is not within -span %s\n", *edit, *span)
		return 2
	}
	dialects, err := parseDialects(*only)
	if err != nil {
		fmt.Fprintln(stderr, "gatewaysim: -dialects:", err)
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	tty := isTerminal(stdout)
	opts := gatewaysim.Options{
		URL: strings.TrimSuffix(*url, "/"), Mode: gatewaysim.Mode(*mode), Token: *token,
		Records: *records, Rate: *rate, Batch: *batch, Workers: *workers, Dialects: dialects,
	}
	if tty {
		opts.Progress = func(r gatewaysim.Report) {
			fmt.Fprintf(stdout, "\r%3.0f%%  %d/%d accepted  %.0f/s  p99 %s  refused %d  failed %d   ",
				100*float64(r.Sent)/float64(*records), r.Accepted, *records, r.AcceptedPerSecond(), r.P99.Round(100*time.Microsecond), r.Refused, r.Failed)
		}
	}
	if err := awaitReceiver(ctx, opts.URL, *waitReady); err != nil {
		fmt.Fprintln(stderr, "gatewaysim:", err)
		return 1
	}
	fmt.Fprintf(stdout, "sending %d records (%s to %s of simulated time) to %s as %s\n",
		*records, first.Format(time.RFC3339), first.Add(*span).Format(time.RFC3339), opts.URL, *mode)
	gen := gatewaysim.NewGenerator(*seed, first, *span, *records)
	if *edit > 0 {
		gen.Edit(*edit)
		fmt.Fprintf(stdout, "at %s %s tightens policy %s\n", first.Add(*edit).Format(time.RFC3339), gatewaysim.EditActor, gatewaysim.EditedPolicy)
	}
	rep, err := gatewaysim.Run(ctx, gen, opts)
	if tty {
		fmt.Fprintln(stdout)
	}
	fmt.Fprintln(stdout, rep)
	if *stay {
		<-ctx.Done()
	}
	switch {
	case err != nil:
		fmt.Fprintln(stderr, "gatewaysim:", err)
		return 1
	case rep.Failed > 0 || rep.Refused > 0:
		return 1
	}
	return 0
}

// awaitReceiver waits until url accepts TCP connections, for at most
// limit (zero: not at all).
func awaitReceiver(ctx context.Context, url string, limit time.Duration) error {
	if limit <= 0 {
		return nil
	}
	host := strings.TrimPrefix(strings.TrimPrefix(url, "http://"), "https://")
	host, _, _ = strings.Cut(host, "/")
	deadline := time.Now().Add(limit)
	for {
		conn, err := (&net.Dialer{Timeout: time.Second}).DialContext(ctx, "tcp", host)
		if err == nil {
			return conn.Close()
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("the receiver at %s did not accept connections within %s: %w", url, limit, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func parseDialects(s string) ([]gatewaysim.Dialect, error) {
	if s == "" {
		return nil, nil
	}
	var out []gatewaysim.Dialect
	for _, name := range strings.Split(s, ",") {
		found := false
		for d := gatewaysim.Flat; d <= gatewaysim.Admin; d++ {
			if d.String() == strings.TrimSpace(name) {
				out, found = append(out, d), true
			}
		}
		if !found {
			return nil, fmt.Errorf("%q is not one of flat, router, opa, admin", name)
		}
	}
	return out, nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
