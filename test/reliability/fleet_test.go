// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package reliability

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/policyaudit/policyaudit/test/harness"
	"github.com/policyaudit/policyaudit/test/peers/pgpeer"
)

// fleet is issue 28's topology: sidecars of config/examples/kafka.yaml,
// three Kafka brokers, tier collectors of config/examples/tier.yaml, and
// behind them the shared PostgreSQL store, versitygw (S3 with digests) and
// the HEC peer.
type fleet struct {
	kafka    *harness.Kafka
	pg       *pgpeer.Server
	dsn      string
	dest     destinations
	sidecars []*harness.Collector
	tiers    []*harness.Collector
}

const fleetTopic = "policyaudit-records"

func startFleet(t *testing.T, sidecars, tiers int) *fleet {
	t.Helper()
	f := &fleet{kafka: harness.StartKafka(t, 3), pg: pgpeer.Start(t)}
	f.kafka.CreateTopic(t, fleetTopic, 6, 3, 2)
	f.dsn = f.pg.CreateDatabase(t, "fleet")
	// The tier writes no Elasticsearch: the contract peer, not a JVM more
	// beside three brokers on two cores.
	f.dest = destinations{harness.StartLightDestinations(t)}
	examples := filepath.Join(harness.Root, "config", "examples")
	kafkaEnv := []string{"POLICYAUDIT_RECEIVER_TOKEN=" + harness.ReceiverToken,
		"POLICYAUDIT_KAFKA_BROKERS=" + f.kafka.Brokers(), "POLICYAUDIT_KAFKA_TOPIC=" + fleetTopic}
	for range sidecars {
		f.sidecars = append(f.sidecars, harness.StartCollector(t, kafkaEnv,
			filepath.Join(examples, "common.yaml"), filepath.Join(examples, "kafka.yaml")))
	}
	for i := range tiers {
		env := append(append([]string{}, f.dest.Env...), kafkaEnv[1:]...)
		env = append(env, harness.SidecarGOMEMLIMIT, "POLICYAUDIT_POSTGRES_DSN="+f.dsn, "POLICYAUDIT_CHAIN=tier-"+strconv.Itoa(i), "POLICYAUDIT_KAFKA_GROUP=fleet")
		f.tiers = append(f.tiers, harness.StartCollector(t, env,
			filepath.Join(examples, "common.yaml"), filepath.Join(examples, "tier.yaml")))
	}
	return f
}

// TestFleetLosesNothingUnderFaults posts 100,000 records across two sidecars
// while a broker is SIGKILLed and restarted, a tier collector is SIGKILLed
// (its partitions move to the other) and restarted, and PostgreSQL is
// restarted as after a crash. Every acknowledged record is then in the
// shared store exactly once, in S3 and Splunk at least once; every chain
// verifies, anchored; and a record posted to either sidecar is found by its
// correlation ID through the API of either tier collector.
func TestFleetLosesNothingUnderFaults(t *testing.T) {
	f := startFleet(t, 2, 2)
	const total, batch = 100000, 500
	var (
		mu    sync.Mutex
		acked []string
		sent  atomic.Int64
	)
	var wg sync.WaitGroup
	for s, sidecar := range f.sidecars {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := s * batch; i < total; i += len(f.sidecars) * batch {
				body := harness.Decisions("fleet", i, batch)
				for {
					status, _, err := harness.Post(sidecar.URL, harness.ReceiverToken, body)
					if err == nil && status == http.StatusOK {
						break
					}
					time.Sleep(200 * time.Millisecond) // Kafka cannot take them now: the gateway sends again
				}
				// A gateway's pace: the faults below fall while records arrive.
				time.Sleep(250 * time.Millisecond)
				mu.Lock()
				for j := i; j < i+batch; j++ {
					acked = append(acked, fmt.Sprintf("fleet-%d", j))
				}
				mu.Unlock()
				sent.Add(batch)
			}
		}()
	}
	// Each fault falls once a share of the records more has been
	// acknowledged since the one before (a broker's catching up can take
	// seconds), so tier-0 is always down while 15% of the records arrive:
	// long enough for its partitions to move to tier-1 and, at its restart,
	// some of them back.
	var last int64
	after := func(share int64, what string, fault func()) {
		want := min(last+total*share/100, total-batch)
		for sent.Load() < want {
			time.Sleep(50 * time.Millisecond)
		}
		last = sent.Load()
		t.Logf("%d records acknowledged: %s", last, what)
		fault()
	}
	after(15, "broker 1 SIGKILLed", func() { f.kafka.Kill(t, 1) })
	after(15, "broker 1 restarted", func() { f.kafka.Start(t, 1) })
	after(10, "tier-0 SIGKILLed", func() { f.tiers[0].Kill(t) })
	after(15, "tier-0 restarted", func() { f.tiers[0].Restart(t) })
	after(10, "PostgreSQL restarted (immediate)", func() { require.NoError(t, f.pg.Restart("immediate"), f.pg.Log()) })
	wg.Wait()
	require.Len(t, acked, total)

	f.waitFor(t, "every record in the shared store", 5*time.Minute, func() (bool, string) {
		n := storedCount(t, f.tiers[1])
		return n >= total, fmt.Sprintf("%d of %d stored", n, total)
	})
	stored := eventIDs(f.tiers[1].StoredDecisions(t, harness.ReceiverToken))
	assert.True(t, hasAll(stored, acked), "every acknowledged record in the store")
	for id, n := range stored {
		if n != 1 {
			t.Errorf("%s stored %d times", id, n)
		}
	}
	assert.Len(t, stored, total, "nothing else in the store")

	s3dir := t.TempDir()
	f.waitFor(t, "every record in S3 and Splunk", 5*time.Minute, func() (bool, string) {
		got := f.dest.arrived(t, f.tiers[1], s3dir)
		return hasAll(got["s3"], acked) && hasAll(got["splunk_hec"], acked),
			fmt.Sprintf("%d in S3, %d in Splunk", len(got["s3"]), len(got["splunk_hec"]))
	})

	// Posted to sidecar 0 (batches of even index) and sidecar 1 (odd),
	// found through either tier collector.
	for _, cid := range []string{"fleet-req-7", "fleet-req-507"} {
		for _, tier := range f.tiers {
			assert.Len(t, tier.ByCorrelation(t, harness.ReceiverToken, cid), 1, cid)
		}
	}

	for _, tier := range f.tiers {
		tier.Stop(t) // signs its chain's head
	}
	cli := filepath.Join(t.TempDir(), "policyaudit")
	build, err := exec.Command("go", "build", "-o", cli, "../../cmd/policyaudit").CombinedOutput()
	require.NoError(t, err, "%s", build)
	out, err := exec.Command(cli, "verify", "--postgres", f.dsn, "--public-key", f.dest.Key.PublicKeyFile).CombinedOutput()
	t.Logf("verify --postgres:\n%s", out)
	if err != nil {
		// Exit 3: the links and signatures hold; records tier-0 appended
		// before its SIGKILL and never signed are named unvouched.
		var exit *exec.ExitError
		require.ErrorAs(t, err, &exit)
		require.Equal(t, 3, exit.ExitCode(), "%s", out)
	}
	assert.Contains(t, string(out), "ok: 2 chains, "+strconv.Itoa(total)+" records")

	// S3: each tier collector signs a digest chain of its own (tier.yaml's
	// _digest/<chain>); every object is in one of them.
	s3 := exec.Command(cli, "verify", "s3", "--endpoint", f.dest.S3.Endpoint, "--clock-skew", "0s", "--bucket", harness.S3Bucket,
		"--prefix", "policy-audit", "--digest-prefix", "policy-audit/_digest/tier-0", "--digest-prefix", "policy-audit/_digest/tier-1",
		"--public-key", f.dest.Key.PublicKeyFile)
	s3.Env = append(os.Environ(), f.dest.S3.Env...)
	out, err = s3.CombinedOutput()
	t.Logf("verify s3:\n%s", out)
	require.NoError(t, err, "%s", out)
	assert.Contains(t, string(out), "ok: ")
}

// storedCount is how many decisions the store holds, from /api/v1/stats.
func storedCount(t *testing.T, c *harness.Collector) int64 {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, c.Query+"/api/v1/stats?since=2000-01-01", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+harness.ReceiverToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	var st struct {
		Total int64 `json:"total"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&st) != nil {
		return 0
	}
	return st.Total
}

// waitFor polls cond until it holds; past the limit it fails with what cond
// last said and the warnings and errors of the tier collectors' logs.
func (f *fleet) waitFor(t *testing.T, what string, limit time.Duration, cond func() (bool, string)) {
	t.Helper()
	began := time.Now()
	for {
		ok, state := cond()
		if ok {
			t.Logf("%s after %s", what, time.Since(began).Round(time.Second))
			return
		}
		if time.Since(began) > limit {
			var problems []string
			for i, tier := range f.tiers {
				for _, line := range strings.Split(tier.Log.String(), "\n") {
					if strings.Contains(line, "\twarn\t") || strings.Contains(line, "\terror\t") {
						problems = append(problems, fmt.Sprintf("tier-%d: %.600s", i, line))
					}
				}
			}
			if len(problems) > 40 {
				problems = append(problems[:20], problems[len(problems)-20:]...)
			}
			t.Fatalf("%s: not within %s (%s)\n%s", what, limit, state, strings.Join(problems, "\n"))
		}
		time.Sleep(2 * time.Second)
	}
}
