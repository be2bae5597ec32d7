// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package harness

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// kafkaLibs is the directory of Apache Kafka's jars (make tools copies them
// from Maven Central into bin/kafka).
func kafkaLibs(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("KAFKA_LIBS"); p != "" {
		return p
	}
	p := filepath.Join(Root, "bin", "kafka")
	require.True(t, fileExists(filepath.Join(p, ".installed")), "Apache Kafka's jars are needed: run `make tools` or set KAFKA_LIBS")
	return p
}

// javaBin is Java 17 or later (Kafka 4 needs it), from JAVA_HOME or the PATH.
func javaBin(t testing.TB) string {
	t.Helper()
	if home := os.Getenv("JAVA_HOME"); home != "" {
		return filepath.Join(home, "bin", "java")
	}
	p, err := exec.LookPath("java")
	require.NoError(t, err, "java is needed for Kafka: `make tools` installs it")
	return p
}

// Kafka is a KRaft cluster on 127.0.0.1: every node a broker and a
// controller of the quorum, each a JVM with a small heap, all data in the
// test's temporary directory.
type Kafka struct {
	nodes []*kafkaNode
	admin *kadm.Client
	libs  string
	java  string
}

type kafkaNode struct {
	id, port, controllerPort int
	dir                      string // server.properties, data/ and kafka.log
	cmd                      *exec.Cmd
	exited                   chan struct{} // closed once cmd.Wait returned
}

// kafkaStopTimeout is how long a node has after SIGTERM before SIGKILL: a
// broker's controlled shutdown waits for a controller quorum, which with
// two of three nodes gone never comes.
const kafkaStopTimeout = 5 * time.Second

// StartKafka starts n nodes and waits until every broker is serving.
func StartKafka(t testing.TB, n int) *Kafka {
	t.Helper()
	k := &Kafka{libs: kafkaLibs(t), java: javaBin(t)}
	root := t.TempDir()
	for i := range n {
		k.nodes = append(k.nodes, &kafkaNode{id: i, port: FreePort(t), controllerPort: FreePort(t), dir: filepath.Join(root, "node-"+strconv.Itoa(i))})
	}
	t.Cleanup(func() {
		begin := time.Now()
		if killed := k.stop(); killed > 0 {
			t.Logf("kafka: stopped in %s, %d node(s) with SIGKILL after %s", time.Since(begin).Round(100*time.Millisecond), killed, kafkaStopTimeout)
		}
	})
	begin := time.Now()
	clusterID := strings.TrimSpace(k.tool(t, "random-uuid"))
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i, node := range k.nodes {
		require.NoError(t, os.MkdirAll(node.dir, 0o755))
		require.NoError(t, os.WriteFile(node.properties(), []byte(k.serverProperties(node)), 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(node.dir, "log4j2.properties"), []byte(kafkaLog4j), 0o644))
		// Each format is a JVM start: in parallel.
		wg.Go(func() { _, errs[i] = k.run("format", "-t", clusterID, "-c", node.properties()) })
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	for _, node := range k.nodes {
		k.launch(t, node)
	}
	admin, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(k.Brokers(), ",")...))
	require.NoError(t, err)
	k.admin = kadm.NewClient(admin)
	k.waitFor(t, 90*time.Second, "every broker serving", func(ctx context.Context) error {
		brokers, err := k.admin.ListBrokers(ctx)
		if err != nil {
			return err
		}
		if len(brokers) < n {
			return fmt.Errorf("%d of %d brokers registered", len(brokers), n)
		}
		return nil
	})
	t.Logf("kafka: %d nodes up in %s", n, time.Since(begin).Round(100*time.Millisecond))
	return k
}

// serverProperties is one combined broker and controller with the static
// quorum of every node; the internal topics replicated like the test's.
func (k *Kafka) serverProperties(node *kafkaNode) string {
	voters := make([]string, len(k.nodes))
	for i, o := range k.nodes {
		voters[i] = fmt.Sprintf("%d@127.0.0.1:%d", o.id, o.controllerPort)
	}
	rf := len(k.nodes)
	minISR := min(2, rf)
	return fmt.Sprintf(`process.roles=broker,controller
node.id=%d
controller.quorum.voters=%s
listeners=PLAINTEXT://127.0.0.1:%d,CONTROLLER://127.0.0.1:%d
advertised.listeners=PLAINTEXT://127.0.0.1:%d
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=%s
auto.create.topics.enable=false
offsets.topic.num.partitions=3
offsets.topic.replication.factor=%d
transaction.state.log.num.partitions=3
transaction.state.log.replication.factor=%d
transaction.state.log.min.isr=%d
share.coordinator.state.topic.num.partitions=3
share.coordinator.state.topic.replication.factor=%d
share.coordinator.state.topic.min.isr=%d
group.initial.rebalance.delay.ms=0
# A broker killed is fenced after 3 s, not 9: the first stall after a
# SIGKILL drops from about 15 s to about 6.
broker.session.timeout.ms=3000
broker.heartbeat.interval.ms=1000
# The 128 MiB default of the log cleaner's buffer does not fit a 192 MiB heap.
log.cleaner.dedupe.buffer.size=4194304
num.network.threads=2
num.io.threads=2
num.recovery.threads.per.data.dir=1
background.threads=2
`, node.id, strings.Join(voters, ","), node.port, node.controllerPort, node.port,
		filepath.Join(node.dir, "data"), rf, rf, minISR, rf, minISR)
}

// kafkaLog4j sends the broker's log to its stdout (kafka.log), without the
// per-request and state-change chatter.
const kafkaLog4j = `rootLogger.level = INFO
rootLogger.appenderRef.stdout.ref = STDOUT
appender.stdout.type = Console
appender.stdout.name = STDOUT
appender.stdout.layout.type = PatternLayout
appender.stdout.layout.pattern = [%d] %p %m (%c)%n
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.state.name = state.change.logger
logger.state.level = WARN
logger.clients.name = org.apache.kafka.clients
logger.clients.level = WARN
`

func (n *kafkaNode) properties() string { return filepath.Join(n.dir, "server.properties") }
func (n *kafkaNode) logFile() string    { return filepath.Join(n.dir, "kafka.log") }

// tool runs kafka.tools.StorageTool with args and returns its output.
func (k *Kafka) tool(t testing.TB, args ...string) string {
	t.Helper()
	out, err := k.run(args...)
	require.NoError(t, err)
	return out
}

func (k *Kafka) run(args ...string) (string, error) {
	cmd := exec.Command(k.java, append([]string{"-Xmx128m", "-XX:+UseSerialGC", "-cp", filepath.Join(k.libs, "*"), "kafka.tools.StorageTool"}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("StorageTool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// launch starts a node's JVM, its output appended to kafka.log.
func (k *Kafka) launch(t testing.TB, node *kafkaNode) {
	t.Helper()
	log, err := os.OpenFile(node.logFile(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	require.NoError(t, err)
	defer log.Close()
	node.cmd = exec.Command(k.java, "-Xmx192m", "-XX:+UseSerialGC", "-Djava.awt.headless=true",
		"-Dlog4j2.configurationFile="+filepath.Join(node.dir, "log4j2.properties"),
		"-cp", filepath.Join(k.libs, "*"), "kafka.Kafka", node.properties())
	node.cmd.Stdout, node.cmd.Stderr = log, log
	// The JVMs go with the test process, however it ends.
	node.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	require.NoError(t, node.cmd.Start())
	node.exited = make(chan struct{})
	go func(cmd *exec.Cmd, exited chan struct{}) {
		_ = cmd.Wait()
		close(exited)
	}(node.cmd, node.exited)
}

// serving is nil once the node answers a metadata request itself and
// names itself among the live brokers (registered and not fenced).
func (n *kafkaNode) serving(ctx context.Context) error {
	cl, err := kgo.NewClient(kgo.SeedBrokers("127.0.0.1:" + strconv.Itoa(n.port)))
	if err != nil {
		return err
	}
	defer cl.Close()
	// Its only seed is the node: the client knows broker n.id only from
	// the node's own metadata, and sends the request to it.
	resp, err := cl.Broker(n.id).RetriableRequest(ctx, kmsg.NewPtrMetadataRequest())
	if err != nil {
		return fmt.Errorf("node %d: %w", n.id, err)
	}
	for _, b := range resp.(*kmsg.MetadataResponse).Brokers {
		if int(b.NodeID) == n.id {
			return nil
		}
	}
	return fmt.Errorf("node %d does not list itself among the live brokers yet", n.id)
}

// Brokers is the bootstrap list: every node's listener, comma-separated.
func (k *Kafka) Brokers() string {
	addrs := make([]string, len(k.nodes))
	for i, n := range k.nodes {
		addrs[i] = "127.0.0.1:" + strconv.Itoa(n.port)
	}
	return strings.Join(addrs, ",")
}

// Kill ends nodes with SIGKILL: no controlled shutdown, no flush.
func (k *Kafka) Kill(t testing.TB, nodes ...int) {
	t.Helper()
	for _, i := range nodes {
		node := k.nodes[i]
		require.NoError(t, node.cmd.Process.Kill())
		<-node.exited
	}
}

// Start runs nodes again after Kill, on their ports and data, and waits
// until each answers requests itself and is back in the ISR of every
// partition it holds a replica of. All are launched before any is waited
// for: with two of three down, neither comes back without the other (the
// controller quorum needs both).
func (k *Kafka) Start(t testing.TB, nodes ...int) {
	t.Helper()
	for _, i := range nodes {
		k.launch(t, k.nodes[i])
	}
	begin := time.Now()
	for _, i := range nodes {
		node := k.nodes[i]
		k.waitFor(t, 90*time.Second, fmt.Sprintf("node %d back in sync", i), func(ctx context.Context) error {
			// Right after a kill the controller may not have noticed yet:
			// the ISR alone would still name the node.
			if err := node.serving(ctx); err != nil {
				return err
			}
			return k.inSync(ctx, int32(node.id))
		})
	}
	t.Logf("kafka: node(s) %v back in sync in %s", nodes, time.Since(begin).Round(100*time.Millisecond))
}

// PeakRSSKiB is node i's peak resident set size so far.
func (k *Kafka) PeakRSSKiB(t testing.TB, i int) int {
	t.Helper()
	return peakRSSKiB(t, k.nodes[i].cmd.Process.Pid)
}

// waitFor polls check until it returns nil, failing with the last error and
// the tail of every node's log after timeout.
func (k *Kafka) waitFor(t testing.TB, timeout time.Duration, what string, check func(context.Context) error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := check(ctx)
		cancel()
		if err == nil {
			return
		}
		for _, node := range k.nodes {
			select {
			case <-node.exited:
				if node.cmd.ProcessState.ExitCode() > 0 { // not a Kill
					t.Fatalf("kafka node %d exited (%s) waiting for %s:\n%s", node.id, node.cmd.ProcessState, what, k.logTails())
				}
			default:
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("kafka: no %s after %s: %v\n%s", what, timeout, err, k.logTails())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// logTails is the end of every node's log, for a failure message.
func (k *Kafka) logTails() string {
	var b strings.Builder
	for _, node := range k.nodes {
		raw, _ := os.ReadFile(node.logFile())
		lines := strings.Split(strings.TrimRight(string(raw), "\n"), "\n")
		fmt.Fprintf(&b, "--- node %d (%s), last lines:\n%s\n", node.id, node.logFile(), strings.Join(lines[max(0, len(lines)-40):], "\n"))
	}
	return b.String()
}

// stop ends every node at once: SIGTERM, then SIGKILL for one that has not
// exited within kafkaStopTimeout. It returns how many needed SIGKILL.
func (k *Kafka) stop() (killed int) {
	if k.admin != nil {
		k.admin.Close()
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, node := range k.nodes {
		if node.cmd == nil || node.cmd.Process == nil {
			continue
		}
		wg.Go(func() {
			_ = node.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-node.exited:
			case <-time.After(kafkaStopTimeout):
				_ = node.cmd.Process.Kill()
				<-node.exited
				mu.Lock()
				killed++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return killed
}
