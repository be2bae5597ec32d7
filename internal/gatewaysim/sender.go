// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package gatewaysim

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
)

// Mode is how records are sent.
type Mode string

const (
	// Gateway posts JSON to the policygateway receiver, each dialect to its
	// endpoint (NDJSON; OPA decision logs as OPA sends them, a JSON array).
	Gateway Mode = "gateway"
	// OTLP posts OTLP/HTTP logs (protobuf) whose bodies are the records'
	// JSON text, to any collector's otlp receiver.
	OTLP Mode = "otlp"
)

// Options of a run.
type Options struct {
	URL      string       // the receiver's base URL
	Mode     Mode         // gateway or otlp
	Token    string       // bearer token, if the receiver wants one
	Records  int          // how many records to send
	Rate     float64      // records per second; 0 sends flat out
	Batch    int          // records per request
	Workers  int          // concurrent requests
	Progress func(Report) // called about twice a second, if set
	Client   *http.Client // default: a client with a 30 s timeout
	Dialects []Dialect    // only these dialects; default: the generator's mix
	// Tee, when set, receives every record sent, one JSON object a line, in
	// the order generated (what the simulator sent, to count by hand).
	Tee io.Writer
	_   struct{}
}

// Report is what a run achieved.
type Report struct {
	Sent, Accepted, Refused, Failed int // records
	Requests                        int
	Elapsed                         time.Duration
	P50, P99, Max                   time.Duration // request latency
}

// AcceptedPerSecond is the accepted records per second of wall time.
func (r Report) AcceptedPerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Accepted) / r.Elapsed.Seconds()
}

func (r Report) String() string {
	return fmt.Sprintf("%d records accepted in %s (%.0f/s), %d refused, %d failed; latency p50 %s p99 %s max %s",
		r.Accepted, r.Elapsed.Round(time.Millisecond), r.AcceptedPerSecond(), r.Refused, r.Failed,
		r.P50.Round(10*time.Microsecond), r.P99.Round(10*time.Microsecond), r.Max.Round(10*time.Microsecond))
}

type request struct {
	path, contentType string
	body              []byte
	records           int
}

// Run sends opts.Records records from g, paced at opts.Rate.
func Run(ctx context.Context, g *Generator, opts Options) (Report, error) {
	if opts.Batch <= 0 {
		opts.Batch = 500
	}
	if opts.Workers <= 0 {
		opts.Workers = 4
	}
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: opts.Workers}}
	}
	reqs := make(chan request, opts.Workers*2)
	var (
		mu        sync.Mutex
		rep       Report
		latencies []time.Duration
	)
	start := time.Now()
	go func() {
		defer close(reqs)
		interval := time.Duration(0)
		if opts.Rate > 0 {
			interval = time.Duration(float64(opts.Batch) / opts.Rate * float64(time.Second))
		}
		next := time.Now()
		for sent := 0; sent < opts.Records; {
			n := min(opts.Batch, opts.Records-sent)
			r := build(g, opts, n)
			sent += r.records
			if interval > 0 {
				time.Sleep(time.Until(next))
				next = next.Add(interval)
			}
			select {
			case reqs <- r:
			case <-ctx.Done():
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for range opts.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range reqs {
				status, took, err := send(ctx, opts, r)
				mu.Lock()
				rep.Requests++
				rep.Sent += r.records
				switch {
				case err != nil:
					rep.Failed += r.records
				case status == http.StatusOK:
					rep.Accepted += r.records
					latencies = append(latencies, took)
				default:
					rep.Refused += r.records
				}
				mu.Unlock()
			}
		}()
	}
	done := make(chan struct{})
	if opts.Progress != nil {
		go func() {
			tick := time.NewTicker(500 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-done:
					return
				case <-tick.C:
					mu.Lock()
					p := summarise(rep, latencies, time.Since(start))
					mu.Unlock()
					opts.Progress(p)
				}
			}
		}()
	}
	wg.Wait()
	close(done)
	return summarise(rep, latencies, time.Since(start)), ctx.Err()
}

func summarise(rep Report, latencies []time.Duration, elapsed time.Duration) Report {
	rep.Elapsed = elapsed
	if len(latencies) == 0 {
		return rep
	}
	sorted := slices.Clone(latencies)
	slices.Sort(sorted)
	at := func(q float64) time.Duration { return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))] }
	rep.P50, rep.P99, rep.Max = at(0.50), at(0.99), sorted[len(sorted)-1]
	return rep
}

// build makes one request of n records of one dialect.
func build(g *Generator, opts Options, n int) request {
	if g.ScriptedDue() {
		return buildScripted(g, opts)
	}
	if before := g.BeforeScripted(); before > 0 {
		n = min(n, before) // the story's admin event goes out at its time
	}
	d := g.Dialect()
	if len(opts.Dialects) > 0 {
		d = opts.Dialects[g.rng.IntN(len(opts.Dialects))]
	}
	if opts.Mode == OTLP {
		ld := plog.NewLogs()
		lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
		lrs.EnsureCapacity(n)
		var line []byte
		for range n {
			line = g.Append(line[:0], d)
			lrs.AppendEmpty().Body().SetStr(string(line))
			tee(opts, line)
		}
		body, _ := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
		return request{path: "/v1/logs", contentType: "application/x-protobuf", body: body, records: n}
	}
	var b bytes.Buffer
	b.Grow(n * 400)
	r := request{path: "/v1/decisions", contentType: "application/x-ndjson", records: n}
	switch d {
	case OPA:
		r.path, r.contentType = "/v1/opa/logs", "application/json"
		b.WriteByte('[')
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			rec := g.Append(nil, d)
			b.Write(rec)
			tee(opts, rec)
		}
		b.WriteByte(']')
	case Admin:
		r.path = "/v1/audit"
		fallthrough
	default:
		line := make([]byte, 0, 512)
		for range n {
			line = append(g.Append(line[:0], d), '\n')
			b.Write(line)
			tee(opts, line[:len(line)-1])
		}
	}
	r.body = b.Bytes()
	return r
}

// tee writes a record sent to opts.Tee.
func tee(opts Options, rec []byte) {
	if opts.Tee != nil {
		_, _ = opts.Tee.Write(append(append(make([]byte, 0, len(rec)+1), rec...), '\n'))
	}
}

// buildScripted makes the request of a story's admin event: one record.
func buildScripted(g *Generator, opts Options) request {
	line := g.AppendScripted(nil)
	tee(opts, line)
	if opts.Mode == OTLP {
		ld := plog.NewLogs()
		ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetStr(string(line))
		body, _ := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
		return request{path: "/v1/logs", contentType: "application/x-protobuf", body: body, records: 1}
	}
	return request{path: "/v1/audit", contentType: "application/x-ndjson", body: append(line, '\n'), records: 1}
}

func send(ctx context.Context, opts Options, r request) (int, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, opts.URL+r.path, bytes.NewReader(r.body))
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Content-Type", r.contentType)
	if opts.Token != "" {
		req.Header.Set("Authorization", "Bearer "+opts.Token)
	}
	start := time.Now()
	resp, err := opts.Client.Do(req)
	if err != nil {
		return 0, 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, time.Since(start), nil
}
