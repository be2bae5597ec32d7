// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package harness

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
)

// The Kafka cluster's topics and partitions, through its admin API.

// CreateTopic creates a topic and waits until every partition has a leader
// and all its replicas in sync.
func (k *Kafka) CreateTopic(t testing.TB, name string, partitions, replicationFactor, minInsync int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	minISR := strconv.Itoa(minInsync)
	resp, err := k.admin.CreateTopic(ctx, int32(partitions), int16(replicationFactor), map[string]*string{"min.insync.replicas": &minISR}, name)
	require.NoError(t, err)
	require.NoError(t, resp.Err, "creating topic %s", name)
	k.waitFor(t, 30*time.Second, "topic "+name+" in sync", func(ctx context.Context) error {
		return k.inSync(ctx, -1, name)
	})
}

// inSync is nil once every partition of topics (every topic when none is
// named) has a leader and, for node (any node when -1), that node in its ISR.
func (k *Kafka) inSync(ctx context.Context, node int32, topics ...string) error {
	details, err := k.admin.ListTopics(ctx, topics...)
	if err != nil {
		return err
	}
	if err := details.Error(); err != nil {
		return err
	}
	for _, topic := range details.Sorted() {
		for _, p := range topic.Partitions.Sorted() {
			switch {
			case p.Err != nil:
				return fmt.Errorf("%s/%d: %w", p.Topic, p.Partition, p.Err)
			case p.Leader < 0:
				return fmt.Errorf("%s/%d: no leader", p.Topic, p.Partition)
			case node < 0 && len(p.ISR) < len(p.Replicas):
				return fmt.Errorf("%s/%d: in sync %v of %v", p.Topic, p.Partition, p.ISR, p.Replicas)
			case node >= 0 && slices.Contains(p.Replicas, node) && !slices.Contains(p.ISR, node):
				return fmt.Errorf("%s/%d: node %d not in sync %v", p.Topic, p.Partition, node, p.ISR)
			}
		}
	}
	return nil
}

// Leader is the node leading a partition of topic now.
func (k *Kafka) Leader(t testing.TB, topic string, partition int) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	details, err := k.admin.ListTopics(ctx, topic)
	require.NoError(t, err)
	p, ok := details[topic].Partitions[int32(partition)]
	require.True(t, ok, "no partition %s/%d", topic, partition)
	require.GreaterOrEqual(t, p.Leader, int32(0), "%s/%d has no leader", topic, partition)
	return int(p.Leader) // node IDs are the nodes' indexes
}

// EndOffsets is the end offset of each partition of topic: its high
// watermark, the records every replica in sync has.
func (k *Kafka) EndOffsets(t testing.TB, topic string) map[int]int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	listed, err := k.admin.ListEndOffsets(ctx, topic)
	require.NoError(t, err)
	require.NoError(t, listed.Error())
	out := map[int]int64{}
	for p, o := range listed[topic] {
		out[int(p)] = o.Offset
	}
	return out
}

// LeadAll makes node the leader of every partition of topic: first in each
// replica list (a new order of the same replicas, which moves no data), then
// elected as the preferred leader.
func (k *Kafka) LeadAll(t testing.TB, topic string, node int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	details, err := k.admin.ListTopics(ctx, topic)
	require.NoError(t, err)
	var req kadm.AlterPartitionAssignmentsReq
	partitions := kadm.TopicsSet{}
	for p, d := range details[topic].Partitions {
		require.Contains(t, d.Replicas, int32(node), "node %d holds no replica of %s/%d", node, topic, p)
		replicas := append([]int32{int32(node)}, slices.DeleteFunc(slices.Clone(d.Replicas), func(r int32) bool { return r == int32(node) })...)
		req.Assign(topic, p, replicas)
		partitions.Add(topic, p)
	}
	resp, err := k.admin.AlterPartitionAssignments(ctx, req)
	require.NoError(t, err)
	require.NoError(t, resp.Error())
	k.waitFor(t, 30*time.Second, fmt.Sprintf("node %d leading every partition of %s", node, topic), func(ctx context.Context) error {
		// Not needed for a partition it leads already: that answer is an error, ignored.
		if _, err := k.admin.ElectLeaders(ctx, kadm.ElectPreferredReplica, partitions); err != nil {
			return err
		}
		details, err := k.admin.ListTopics(ctx, topic)
		if err != nil {
			return err
		}
		for _, p := range details[topic].Partitions.Sorted() {
			if p.Leader != int32(node) {
				return fmt.Errorf("%s/%d led by %d", topic, p.Partition, p.Leader)
			}
		}
		return nil
	})
}
