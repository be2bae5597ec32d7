// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/policyaudit/policyaudit/test/harness"
)

const kafkaTopic = "policyaudit-records"

// The Kafka example (config/examples/kafka.yaml) against a real three-node
// KRaft cluster (Apache Kafka 4.4.0 from make tools), its topic of three
// partitions replicated three times with min.insync.replicas 2, and a
// second collector consuming it in a consumer group (testdata/kafka-tier.yaml)
// into JSON lines. The sidecar's 200 means Kafka holds the records: every
// acknowledged record reaches the consumer, through a broker SIGKILLed
// while a gateway posts, and the sidecar and the leader that acknowledged
// SIGKILLed right after a 200; a 200 comes only once the records are below
// the high watermarks (on every replica in sync); and with two brokers
// down, fewer than min.insync.replicas, nothing is acknowledged.
func TestKafkaExampleAcknowledgesWhatKafkaHolds(t *testing.T) {
	k := harness.StartKafka(t, 3)
	k.CreateTopic(t, kafkaTopic, 3, 3, 2)
	env := []string{"POLICYAUDIT_RECEIVER_TOKEN=receiver-token", "POLICYAUDIT_KAFKA_BROKERS=" + k.Brokers(), "POLICYAUDIT_KAFKA_TOPIC=" + kafkaTopic}
	examples := filepath.Join(harness.Root, "config", "examples")
	sidecar := harness.StartCollector(t, env, filepath.Join(examples, "common.yaml"), filepath.Join(examples, "kafka.yaml"))
	tier := harness.StartCollector(t, append(env, "POLICYAUDIT_KAFKA_GROUP=e2e-tier"),
		filepath.Join(examples, "common.yaml"), filepath.Join("testdata", "kafka-tier.yaml"))

	// Every fixture's canonical records, once each, as the sidecar's
	// processor wrote them: the message carries the whole record.
	harness.PostFixtures(t, sidecar.URL, "receiver-token")
	want := harness.Expected(t, harness.AllFixtureRecords...)
	got := allLines(tier.WaitForLines(t, len(want)))
	sort.Strings(want)
	assert.Equal(t, want, got, "every canonical record, once, through Kafka")
	fixtureIDs := eventIDs(t, got)

	// A gateway posts while the leader of partition 0 is SIGKILLed and,
	// 8 s later, started again.
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
	t.Logf("broker %d killed while posting: %d records acknowledged in %d requests, %d answers 503, slowest 200 in %s",
		killed, len(acked), p.requests, p.refused, p.slowest.Round(time.Millisecond))
	waitForEventIDs(t, tier, append(fixtureIDs, acked...))

	// Two brokers down: the leader left alone cannot have a record written
	// by min.insync.replicas (2), so the sidecar does not acknowledge it; a
	// gateway gives up after its own timeout (20 s here). Once they are
	// back, the gateway's retry is acknowledged.
	down := []int{(killed + 1) % 3, (killed + 2) % 3}
	k.Kill(t, down...)
	batch := harness.Decisions("kafka-two-down", 0, 50)
	began := time.Now()
	status, err := postWithin(sidecar.URL, batch, 20*time.Second)
	t.Logf("two brokers down: answer %d (%v) after %s", status, err, time.Since(began).Round(100*time.Millisecond))
	assert.NotEqual(t, http.StatusOK, status, "a 200 with one broker of three")
	k.Start(t, down...)
	retried := postUntilAccepted(t, sidecar.URL, batch)
	t.Logf("two brokers back: the retry acknowledged after %d more answers 503", retried)
	acked = append(acked, idsOf("kafka-two-down", 0, 50)...)

	// A 200 means the records are replicated: right after it, before the
	// consumer (killed) reads anything, the high watermarks, which count
	// only what every replica in sync has, hold all of them. Then the
	// sidecar and the leader that acknowledged them are SIGKILLed, and the
	// consumer, started again, still reads every one from a follower.
	tier.Kill(t)
	before := k.EndOffsets(t, kafkaTopic)
	last := harness.Decisions("kafka-last", 0, 200)
	postUntilAccepted(t, sidecar.URL, last)
	after := k.EndOffsets(t, kafkaTopic)
	sidecar.Kill(t)
	grew, written := 0, int64(0)
	for p, end := range after {
		written += end - before[p]
		if end-before[p] > after[grew]-before[grew] {
			grew = p
		}
	}
	assert.GreaterOrEqual(t, written, int64(200), "the acknowledged records are below the high watermarks")
	leader := k.Leader(t, kafkaTopic, grew)
	k.Kill(t, leader)
	tier.Restart(t)
	acked = append(acked, idsOf("kafka-last", 0, 200)...)
	seen := waitForEventIDs(t, tier, append(fixtureIDs, acked...))
	dups := 0
	for _, n := range seen {
		dups += n - 1
	}
	t.Logf("the last 200 acknowledged: high watermarks up by %d, partition %d's leader %d killed; %d records acknowledged in all, every one consumed, %d more than once (a request sent again, a consumer killed before committing)",
		written, grew, leader, len(acked)+len(fixtureIDs), dups)
}

// poster is a gateway posting batches of 50 decisions one after another,
// sending a batch again after a 503 until it is acknowledged.
type poster struct {
	done    chan struct{}
	stopped chan struct{}
	acked   []string
	err     error

	requests, refused int
	slowest           time.Duration
}

func startPosting(t *testing.T, url, prefix string) *poster {
	p := &poster{done: make(chan struct{}), stopped: make(chan struct{})}
	go func() {
		defer close(p.stopped)
		for from := 0; ; from += 50 {
			body := harness.Decisions(prefix, from, 50)
			for {
				select {
				case <-p.done:
					return
				default:
				}
				began := time.Now()
				status, _, answer, err := harness.PostNDJSON(url+"/v1/decisions", "receiver-token", body)
				p.requests++
				if err != nil || status != http.StatusOK && status != http.StatusServiceUnavailable {
					p.err = &postError{status, answer, err}
					return
				}
				if status == http.StatusOK {
					p.slowest = max(p.slowest, time.Since(began))
					p.acked = append(p.acked, idsOf(prefix, from, 50)...)
					break
				}
				p.refused++
				time.Sleep(250 * time.Millisecond)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	return p
}

// stop ends the posting after the request in flight and returns the event
// IDs of every acknowledged batch.
func (p *poster) stop(t *testing.T) []string {
	t.Helper()
	close(p.done)
	<-p.stopped
	require.NoError(t, p.err)
	return p.acked
}

type postError struct {
	status int
	answer string
	err    error
}

func (e *postError) Error() string {
	if e.err != nil {
		return e.err.Error()
	}
	return "answered " + http.StatusText(e.status) + ": " + e.answer
}

// postUntilAccepted sends body until the sidecar acknowledges it and returns
// how many 503s came first.
func postUntilAccepted(t *testing.T, url string, body []byte) int {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for refused := 0; ; refused++ {
		status, _, answer, err := harness.PostNDJSON(url+"/v1/decisions", "receiver-token", body)
		require.NoError(t, err)
		if status == http.StatusOK {
			return refused
		}
		require.Equal(t, http.StatusServiceUnavailable, status, answer)
		require.True(t, time.Now().Before(deadline), "not acknowledged within 60 s: %s", answer)
		time.Sleep(250 * time.Millisecond)
	}
}

// postWithin posts an NDJSON body as a gateway with a timeout does: the
// status, or 0 and the error when no answer came in time.
func postWithin(url string, body []byte, timeout time.Duration) (int, error) {
	req, err := http.NewRequest(http.MethodPost, url+"/v1/decisions", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	req.Header.Set("Authorization", "Bearer receiver-token")
	resp, err := (&http.Client{Timeout: timeout}).Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// idsOf are the event IDs of harness.Decisions(prefix, from, n).
func idsOf(prefix string, from, n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = prefix + "-" + strconv.Itoa(from+i)
	}
	return ids
}

// allLines is every exported line, sorted.
func allLines(byPartition map[string][]string) []string {
	var out []string
	for _, lines := range byPartition {
		out = append(out, lines...)
	}
	sort.Strings(out)
	return out
}

// eventIDs are the lines' event IDs.
func eventIDs(t *testing.T, lines []string) []string {
	t.Helper()
	ids := make([]string, len(lines))
	for i, line := range lines {
		var rec struct {
			EventID string `json:"event_id"`
		}
		require.NoError(t, json.Unmarshal([]byte(line), &rec), line)
		ids[i] = rec.EventID
	}
	return ids
}

// waitForEventIDs waits until the tier has written every one of ids and
// returns how often it wrote each event ID.
func waitForEventIDs(t *testing.T, tier *harness.Collector, ids []string) map[string]int {
	t.Helper()
	var seen map[string]int
	var missing []string
	deadline := time.Now().Add(60 * time.Second)
	for {
		seen = map[string]int{}
		for _, line := range allLines(tier.Exported(t)) {
			var rec struct {
				EventID string `json:"event_id"`
			}
			// The last line of a file may be half written: read it next time.
			if json.Unmarshal([]byte(line), &rec) == nil {
				seen[rec.EventID]++
			}
		}
		missing = missing[:0]
		for _, id := range ids {
			if seen[id] == 0 {
				missing = append(missing, id)
			}
		}
		if len(missing) == 0 {
			return seen
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d acknowledged records never reached the consumer (first: %v):\n%s",
				len(missing), len(ids), missing[:min(5, len(missing))], tier.Log)
		}
		time.Sleep(time.Second)
	}
}
