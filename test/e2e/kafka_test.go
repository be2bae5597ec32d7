// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"net/http"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/policyaudit/policyaudit/test/harness"
)

const kafkaTopic = "policyaudit-records"

// startKafkaPair starts three Kafka nodes (Apache Kafka 4.4.0 in KRaft mode,
// from make tools), the topic of three partitions replicated three times
// with min.insync.replicas 2, a sidecar on the Kafka example
// (config/examples/kafka.yaml) and a collector consuming the topic in a
// consumer group into JSON lines (testdata/kafka-tier.yaml).
func startKafkaPair(t *testing.T) (k *harness.Kafka, sidecar, tier *harness.Collector) {
	t.Helper()
	k = harness.StartKafka(t, 3)
	k.CreateTopic(t, kafkaTopic, 3, 3, 2)
	env := []string{"POLICYAUDIT_RECEIVER_TOKEN=receiver-token", "POLICYAUDIT_KAFKA_BROKERS=" + k.Brokers(), "POLICYAUDIT_KAFKA_TOPIC=" + kafkaTopic}
	examples := filepath.Join(harness.Root, "config", "examples")
	sidecar = harness.StartCollector(t, env, filepath.Join(examples, "common.yaml"), filepath.Join(examples, "kafka.yaml"))
	tier = harness.StartCollector(t, append(env, "POLICYAUDIT_KAFKA_GROUP=e2e-tier"),
		filepath.Join(examples, "common.yaml"), filepath.Join("testdata", "kafka-tier.yaml"))
	return k, sidecar, tier
}

// The Kafka sidecar's 200 means every replica in sync has the records, at
// least min.insync.replicas: every fixture's canonical record reaches the
// consumer once; with one broker of three left, nothing is acknowledged;
// right after a 200 the high watermarks count its records, and with the
// sidecar and the leader that acknowledged them SIGKILLed, the consumer
// still reads every one.
func TestKafkaExampleAcknowledgesWhatTheReplicasHold(t *testing.T) {
	k, sidecar, tier := startKafkaPair(t)

	// Every fixture's canonical records, once each, as the sidecar's
	// processor wrote them: the message carries the whole record.
	harness.PostFixtures(t, sidecar.URL, "receiver-token")
	want := harness.Expected(t, harness.AllFixtureRecords...)
	got := allLines(tier.WaitForLines(t, len(want)))
	sort.Strings(want)
	assert.Equal(t, want, got, "every canonical record, once, through Kafka")
	acked := eventIDs(t, got)

	// One broker left, leading every partition: it cannot have a record
	// written by min.insync.replicas (2), so nothing is acknowledged (with
	// required_acks 1 it would be); a gateway gives up after its own
	// timeout (20 s here). Once the two are back, its retry is.
	survivor := k.Leader(t, kafkaTopic, 0)
	k.LeadAll(t, kafkaTopic, survivor)
	down := []int{(survivor + 1) % 3, (survivor + 2) % 3}
	k.Kill(t, down...)
	batch := harness.Decisions("kafka-two-down", 0, 50)
	began := time.Now()
	status, err := postWithin(sidecar.URL, batch, 20*time.Second)
	t.Logf("brokers %v down: answer %d (%v) after %s", down, status, err, time.Since(began).Round(100*time.Millisecond))
	assert.NotEqual(t, http.StatusOK, status, "a 200 with one broker of three")
	k.Start(t, down...)
	retried := postUntilAccepted(t, sidecar.URL, batch)
	t.Logf("brokers %v back: the retry acknowledged after %d answers 503", down, retried)
	acked = append(acked, idsOf("kafka-two-down", 0, 50)...)

	// Right after a 200, before the consumer (killed) reads anything, the
	// high watermarks, which count only what every replica in sync has,
	// hold all of its records. Then the sidecar and the leader that
	// acknowledged them are SIGKILLed, and the consumer, started again,
	// reads every one from a follower: they were nowhere else (the sidecar
	// keeps no queue).
	tier.Kill(t)
	before := k.EndOffsets(t, kafkaTopic)
	postUntilAccepted(t, sidecar.URL, harness.Decisions("kafka-last", 0, 200))
	after := k.EndOffsets(t, kafkaTopic)
	sidecar.Kill(t)
	grew, written := 0, int64(0)
	for p, end := range after {
		written += end - before[p]
		if end-before[p] > after[grew]-before[grew] {
			grew = p
		}
	}
	assert.Equal(t, messagesOf("kafka-last", 0, 200), written, "the acknowledged records are below the high watermarks")
	leader := k.Leader(t, kafkaTopic, grew)
	k.Kill(t, leader)
	tier.Restart(t)
	acked = append(acked, idsOf("kafka-last", 0, 200)...)
	seen := waitForEventIDs(t, tier, acked)
	t.Logf("the last 200 acknowledged: high watermarks up by %d, partition %d's leader %d killed; %d records acknowledged in all, every one consumed, %d more than once (a request sent again, a consumer killed before committing)",
		written, grew, leader, len(acked), repeats(seen))
}

// A broker SIGKILLed while a gateway posts, and started again 8 s later:
// every acknowledged record is in the topic once and reaches the consumer.
func TestKafkaExampleLosesNothingWhenABrokerDies(t *testing.T) {
	k, sidecar, tier := startKafkaPair(t)
	p := startPosting(t, sidecar.URL, "kafka")
	time.Sleep(2 * time.Second)
	for i := range 3 {
		t.Logf("kafka node %d: peak RSS %d MiB", i, k.PeakRSSKiB(t, i)/1024)
	}
	killed := k.Leader(t, kafkaTopic, 0)
	k.Kill(t, killed)
	time.Sleep(8 * time.Second)
	k.Start(t, killed)
	time.Sleep(2 * time.Second)
	acked := p.stop(t)
	require.NotEmpty(t, acked)
	seen := waitForEventIDs(t, tier, acked)
	// Nothing else writes to the topic: its messages are the acknowledged
	// requests' (one per order_key bucket of each). Without a 503 (the
	// gateway then sends a request again), the idempotent producer's own
	// retries add none.
	var messages int64
	for _, end := range k.EndOffsets(t, kafkaTopic) {
		messages += end
	}
	if p.refused == 0 {
		assert.Equal(t, p.messages, messages, "each acknowledged request's messages once in the topic")
	}
	t.Logf("broker %d killed while posting: %d records acknowledged in %d requests, %d answers 503, slowest 200 in %s; %d messages in the topic; every record consumed, %d more than once (the consumer reading again what it had not committed)",
		killed, len(acked), p.requests, p.refused, p.slowest.Round(time.Millisecond), messages, repeats(seen))
}
