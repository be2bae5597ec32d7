// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

// Package fleetbench is `make bench-fleet`: the figures of issue 28's
// scale-out topology on this machine's two cores, every engine real and
// sharing them (three Kafka brokers, PostgreSQL, versitygw, the HEC peer,
// the collectors and the load): a sidecar of config/examples/kafka.yaml
// acknowledging into Kafka inside the sidecar's 256 MiB limit (beside D of
// `make bench`), then one and then two tier collectors of
// config/examples/tier.yaml draining the same records into the shared
// store and S3. It prints the figures; it fails only when records are
// missing, which would make them meaningless.
package fleetbench

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/policyaudit/policyaudit/internal/gatewaysim"
	"github.com/policyaudit/policyaudit/test/harness"
	"github.com/policyaudit/policyaudit/test/peers/pgpeer"
)

// records is how many records the sidecar takes and each tier drains.
var records = envInt("FLEET_BENCH_RECORDS", 100000)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

const (
	topic = "policyaudit-records"
	// partitions of the topic: enough for two tier collectors to share.
	partitions = 6
)

func BenchmarkFleet(b *testing.B) {
	k := harness.StartKafka(b, 3)
	k.CreateTopic(b, topic, partitions, 3, 2)
	pg := pgpeer.Start(b)
	// The tier writes no Elasticsearch: the contract peer, not a JVM more.
	d := harness.StartLightDestinations(b)
	examples := filepath.Join(harness.Root, "config", "examples")
	kafkaEnv := []string{"POLICYAUDIT_RECEIVER_TOKEN=" + harness.ReceiverToken,
		"POLICYAUDIT_KAFKA_BROKERS=" + k.Brokers(), "POLICYAUDIT_KAFKA_TOPIC=" + topic}

	limit := harness.NewMemoryLimit(b, harness.SidecarMemoryLimit)
	sidecar := harness.StartCollectorWithin(b, limit, append([]string{harness.SidecarGOMEMLIMIT}, kafkaEnv...),
		filepath.Join(examples, "common.yaml"), filepath.Join(examples, "kafka.yaml"))
	g := gatewaysim.NewGenerator(7, time.Now().Add(-time.Hour), time.Hour, records)
	b.ResetTimer()
	rep, err := gatewaysim.Run(context.Background(), g, gatewaysim.Options{
		URL: sidecar.URL, Mode: gatewaysim.Gateway, Token: harness.ReceiverToken,
		Records: records, Batch: 500, Workers: 4,
	})
	if err != nil || rep.Failed > 0 || rep.Accepted != records {
		b.Fatalf("the sidecar took %d of %d records (%v): %s", rep.Accepted, records, err, sidecar.Log)
	}
	var messages int64
	for _, end := range k.EndOffsets(b, topic) {
		messages += end
	}
	b.Logf("sidecar into Kafka (common.yaml + kafka.yaml, %d MiB limit): %s; %d Kafka messages (%.1f records a message); peak anonymous memory %d MiB",
		limit.Bytes>>20, rep, messages, float64(records)/float64(messages), limit.PeakAnonBytes()>>20)
	b.ReportMetric(rep.AcceptedPerSecond(), "sidecar-acked/s")
	b.ReportMetric(float64(rep.P99.Microseconds())/1000, "sidecar-p99-ack-ms")

	for _, n := range []int{1, 2} {
		dsn := pg.CreateDatabase(b, "tier"+strconv.Itoa(n))
		group := "bench-" + strconv.Itoa(n)
		start := time.Now()
		var tiers []*harness.Collector
		var limits []*harness.MemoryLimit
		for i := range n {
			env := append(append([]string{}, d.Env...), kafkaEnv[1:]...)
			env = append(env, harness.SidecarGOMEMLIMIT, "POLICYAUDIT_POSTGRES_DSN="+dsn, "POLICYAUDIT_CHAIN=tier-"+strconv.Itoa(i),
				"POLICYAUDIT_KAFKA_GROUP="+group, "POLICYAUDIT_S3_PREFIX="+group)
			// Each in the sidecar's 256 MiB limit, as deploy/kubernetes/tier runs it.
			limits = append(limits, harness.NewMemoryLimit(b, harness.SidecarMemoryLimit))
			tiers = append(tiers, harness.StartCollectorWithin(b, limits[i], env, filepath.Join(examples, "common.yaml"), filepath.Join(examples, "tier.yaml")))
		}
		store, s3 := drain(b, tiers, start)
		peak := int64(0)
		for _, l := range limits {
			peak = max(peak, l.PeakAnonBytes())
		}
		b.Logf("%d tier collector(s) (common.yaml + tier.yaml, GOMEMLIMIT=160MiB in a %d MiB limit each) from a topic of %d records: every record in the shared store after %s (%.0f records/s), in S3 after %s (%.0f records/s); peak anonymous memory %d MiB",
			n, harness.SidecarMemoryLimit>>20, records, store.Round(100*time.Millisecond), float64(records)/store.Seconds(), s3.Round(100*time.Millisecond), float64(records)/s3.Seconds(), peak>>20)
		b.ReportMetric(float64(records)/store.Seconds(), "tier"+strconv.Itoa(n)+"-store/s")
		b.ReportMetric(float64(records)/s3.Seconds(), "tier"+strconv.Itoa(n)+"-s3/s")
		for _, c := range tiers {
			if os.Getenv("FLEET_BENCH_LOG") != "" {
				for _, line := range strings.Split(c.Log.String(), "\n") {
					if strings.Contains(line, "\twarn\t") || strings.Contains(line, "\terror\t") {
						b.Logf("%.400s", line)
					}
				}
			}
			c.Stop(b)
		}
	}
}

// drain waits until the tier collectors have stored every record and
// written every one to S3 (their exporters' sent counts, from their own
// metrics: a record another tier collector had sent before its partition
// moved counts twice, so the figures can only flatter by that), and returns
// when each was done.
func drain(b *testing.B, tiers []*harness.Collector, start time.Time) (store, s3 time.Duration) {
	deadline := start.Add(10 * time.Minute)
	for time.Now().Before(deadline) && (store == 0 || s3 == 0) {
		sent := map[string]int{}
		for _, c := range tiers {
			for name, v := range c.SentLogRecords() {
				sent[name] += v
			}
		}
		if store == 0 && sent["auditstore"] >= records {
			store = time.Since(start)
		}
		if s3 == 0 && sent["s3audit"] >= records {
			s3 = time.Since(start)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if store == 0 || s3 == 0 {
		b.Fatalf("not drained within 10 minutes (store %s, S3 %s): %s", store, s3, tiers[0].Log)
	}
	return store, s3
}
