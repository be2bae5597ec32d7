// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/policyaudit/policyaudit/internal/record"
	"github.com/policyaudit/policyaudit/test/harness"
)

// What the Kafka tests do as a gateway (post, send again after a 503, give
// up after a timeout) and read back from the consuming collector.

// poster is a gateway posting batches of 50 decisions one after another,
// sending a batch again after a 503 until it is acknowledged.
type poster struct {
	done    chan struct{}
	stopped chan struct{}
	acked   []string
	err     error

	requests, refused int
	slowest           time.Duration
	// messages is how many Kafka messages the acknowledged requests made.
	messages int64
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
					p.messages += messagesOf(prefix, from, 50)
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

// kafkaOrderBuckets is kafka.yaml's order_key.buckets.
const kafkaOrderBuckets = 64

// messagesOf is how many Kafka messages the sidecar of kafka.yaml writes for
// one request of harness.Decisions(prefix, from, n): one for each order_key
// bucket its correlation IDs (prefix-req-i) fall in.
func messagesOf(prefix string, from, n int) int64 {
	buckets := map[uint32]bool{}
	for i := from; i < from+n; i++ {
		buckets[record.OrderBucket(prefix+"-req-"+strconv.Itoa(i), kafkaOrderBuckets)] = true
	}
	return int64(len(buckets))
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

// repeats is how many records were read more than once.
func repeats(seen map[string]int) int {
	n := 0
	for _, c := range seen {
		n += c - 1
	}
	return n
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
