// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package auditstore

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"
)

// benchEntries builds n realistic decisions: 1,000 correlation IDs per
// 100,000 records, 50 policies with 20 versions each, a minute per 100 records.
func benchEntries(b *testing.B, from, n int) []Entry {
	out := make([]Entry, n)
	for i := range out {
		k := from + i
		out[i] = decisionEntry(b, k, map[string]any{
			"correlation_id": fmt.Sprintf("corr-%07d", k/100),
			"policy_id":      fmt.Sprintf("policy-%02d", k%50),
			"policy_version": fmt.Sprintf("v%02d", (k/50000)%20),
			"policy_user":    fmt.Sprintf("user-%05d", k%20000),
			"created_at":     t0.Add(time.Duration(k) * 600 * time.Millisecond).Format("2006-01-02T15:04:05.000Z"),
		})
	}
	return out
}

// BenchmarkAppend stores batches (the batch processor's default
// send_batch_size is 8192; the embedded default sends 2048) and reports
// records per second on one core.
// Both synchronous modes: what surviving a power cut costs.
func BenchmarkAppend(b *testing.B) {
	for _, c := range []struct {
		size int
		sync string
	}{{1000, SyncFull}, {2048, SyncFull}, {8192, SyncFull}, {2048, SyncNormal}} {
		b.Run(fmt.Sprintf("batch=%d/synchronous=%s", c.size, c.sync), func(b *testing.B) {
			size := c.size
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
			ctx := context.Background()
			s, _ := open(b, WithSynchronous(c.sync))
			batch := benchEntries(b, 0, size)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				// New event IDs each round, so every record is really appended.
				for j := range batch {
					batch[j].EventID = fmt.Sprintf("ev-%d-%d", i, j)
				}
				if _, _, err := s.Append(ctx, batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// BenchmarkAppendPostgres is a shared store's append rate on a real
// PostgreSQL 15 (fsync on, on this machine's disk): one writer, and two
// writers appending at once, each to its own chain (the fleet's design),
// in batches as the examples send them. It reports the records per second
// of all writers together.
func BenchmarkAppendPostgres(b *testing.B) {
	for _, c := range []struct{ writers, size int }{{1, 10}, {1, 2048}, {1, 8192}, {2, 10}, {2, 2048}, {4, 2048}} {
		b.Run(fmt.Sprintf("writers=%d/batch=%d", c.writers, c.size), func(b *testing.B) {
			ctx := context.Background()
			dsn := sharedDSN(b)
			stores := make([]*Store, c.writers)
			batches := make([][]Entry, c.writers)
			for w := range stores {
				stores[w] = openShared(b, dsn, fmt.Sprintf("writer-%d", w))
				batches[w] = benchEntries(b, 0, c.size)
			}
			b.ResetTimer()
			var wg sync.WaitGroup
			for w := range stores {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < b.N; i++ {
						for j := range batches[w] {
							batches[w][j].EventID = fmt.Sprintf("ev-%d-%d-%d", w, i, j)
						}
						if _, _, err := stores[w].Append(ctx, batches[w]); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.ReportMetric(float64(b.N*c.writers*c.size)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// BenchmarkQueryAt1M fills a store with 1,000,000 records, then times the two
// questions the API answers most: a correlation ID, and a policy version in
// a time range. It reports p50 and p99 latency.
func BenchmarkQueryAt1M(b *testing.B) {
	const total = 1_000_000
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "bench.db")
	s, err := Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	for from := 0; from < total; from += 10000 {
		if _, _, err := s.Append(ctx, benchEntries(b, from, 10000)); err != nil {
			b.Fatal(err)
		}
	}
	for _, q := range []struct {
		name   string
		filter func(i int) Filter
	}{
		{"correlation_id", func(i int) Filter {
			return Filter{EventKind: "policy_decision", CorrelationID: fmt.Sprintf("corr-%07d", (i*7919)%(total/100)), Limit: 50}
		}},
		{"policy_version_time_range", func(i int) Filter {
			// A 6-hour window inside the span of the version: a full page.
			version := i % 20
			first := version*50000 + (i*7919)%20000
			start := t0.Add(time.Duration(first) * 600 * time.Millisecond)
			return Filter{EventKind: "policy_decision", PolicyID: fmt.Sprintf("policy-%02d", i%50),
				PolicyVersion: fmt.Sprintf("v%02d", version), Since: start, Until: start.Add(6 * time.Hour), Limit: 50}
		}},
	} {
		b.Run(q.name, func(b *testing.B) {
			lat := make([]time.Duration, 0, b.N)
			rows := 0
			for i := 0; i < b.N; i++ {
				t := time.Now()
				page, _, err := s.Query(ctx, q.filter(i))
				if err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t))
				rows += len(page)
			}
			b.ReportMetric(float64(rows)/float64(b.N), "rows/query")
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}

// BenchmarkTimelineAt1M fills a store with 1,000,000 records (about a week,
// a record every 0.6 s), then times the console's timeline page: one day's
// decisions in 5-minute buckets by verdict (all policies, one policy) and
// the day's admin events for its markers, the SQL the page runs. It reports
// p50 and p99 latency. verify_whole_chain times the integrity page's
// verification of all of it.
func BenchmarkTimelineAt1M(b *testing.B) {
	const total = 1_000_000
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	span := time.Duration(total) * 600 * time.Millisecond
	for from := 0; from < total; from += 10000 {
		entries := benchEntries(b, from, 10000)
		// An admin event an hour, as the markers of a busy gateway.
		for at := t0.Add(time.Duration(from) * 600 * time.Millisecond).Truncate(time.Hour); at.Before(t0.Add(time.Duration(from+10000) * 600 * time.Millisecond)); at = at.Add(time.Hour) {
			entries = append(entries, adminEntry(b, int(at.Unix()), at))
		}
		if _, _, err := s.Append(ctx, entries); err != nil {
			b.Fatal(err)
		}
	}
	for _, q := range []struct {
		name   string
		policy func(i int) string
	}{{"all_policies", func(int) string { return "" }}, {"one_policy", func(i int) string { return fmt.Sprintf("policy-%02d", i%50) }}} {
		b.Run(q.name, func(b *testing.B) {
			lat := make([]time.Duration, 0, b.N)
			for i := 0; i < b.N; i++ {
				start := t0.Add(time.Duration(i%6) * span / 7)
				t := time.Now()
				f := Filter{PolicyID: q.policy(i), Since: start, Until: start.Add(24 * time.Hour)}
				if _, err := s.Timeline(ctx, f, 5*time.Minute); err != nil {
					b.Fatal(err)
				}
				f.EventKind, f.Limit = "admin_audit", 500
				if _, _, err := s.Query(ctx, f); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t))
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
	b.Run("verify_whole_chain", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			rep, err := s.Verify(ctx)
			if err != nil || !rep.OK {
				b.Fatal(err, rep.Problem)
			}
		}
		b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/verify")
	})
}

// BenchmarkIndexMigrationAt1M times the first open of a database of
// 1,000,000 records written before the timeline's index: SQLite builds it
// from the table once.
func BenchmarkIndexMigrationAt1M(b *testing.B) {
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "old.db")
	s, err := Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	for from := 0; from < 1_000_000; from += 10000 {
		if _, _, err := s.Append(ctx, benchEntries(b, from, 10000)); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		db, err := sql.Open("sqlite", "file:"+path)
		if err == nil {
			_, err = db.Exec(`DROP INDEX records_kind_time_verdict; CREATE INDEX records_kind_time ON records (event_kind, created_ms, seq)`)
			_ = db.Close()
		}
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		s, err := Open(ctx, path)
		if err != nil {
			b.Fatal(err)
		}
		_ = s.Close()
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/open")
}
