// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package harness

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/policyaudit/policyaudit/test/peers/datadog"
	"github.com/policyaudit/policyaudit/test/peers/elasticsearch"
)

// The credentials the peers and the sidecar share in the tests.
const (
	ReceiverToken = "receiver-token"
	HECToken      = "11111111-2222-3333-4444-555555555555"
	// ESKey is the sidecar's API key. The real node has no security (no
	// x-pack) and accepts any; the contract peer checks it.
	ESKey    = "es-api-key"
	DDKey    = "0123456789abcdef0123456789abcdef"
	S3Bucket = "policy-audit"
)

// Destinations are the peers of the all-destinations sidecar
// (config/examples/all.yaml): versitygw as S3, splunkhecreceiver as Splunk
// HEC, Elasticsearch (a real node, or the contract peer) and the Datadog
// contract peer.
type Destinations struct {
	S3  *S3
	HEC *HECPeer
	// ES is a real Elasticsearch node with deploy/elasticsearch's index
	// template installed (StartDestinations); nil with StartLightDestinations.
	ES *Elasticsearch
	// ESPeer is the Elasticsearch contract peer (StartLightDestinations);
	// nil with StartDestinations.
	ESPeer *elasticsearch.Server
	DD     *datadog.Server
	// Key signs the audit store's chain head.
	Key *SigningKey
	// Env is what the sidecar needs to reach them (its receiver token and
	// signing key too).
	Env []string
}

// StartDestinations starts every peer, Elasticsearch as a real node with
// the index template the records need, until the test ends (after the
// collectors the test starts later, which stop first).
func StartDestinations(t testing.TB) *Destinations {
	t.Helper()
	es := StartElasticsearch(t)
	es.InstallTemplate(t)
	return startDestinations(t, es, nil, es.URL)
}

// StartLightDestinations is StartDestinations with the Elasticsearch
// contract peer in place of the node: for the throughput benchmarks, whose
// figures measure the sidecar and not a JVM sharing its two cores, and for
// topologies that write no Elasticsearch (the Kafka fleet's tier).
func StartLightDestinations(t testing.TB) *Destinations {
	t.Helper()
	peer := elasticsearch.Start(ESKey)
	t.Cleanup(peer.Close)
	return startDestinations(t, nil, peer, peer.URL)
}

func startDestinations(t testing.TB, es *Elasticsearch, peer *elasticsearch.Server, esURL string) *Destinations {
	t.Helper()
	d := &Destinations{S3: StartS3(t), ES: es, ESPeer: peer, DD: datadog.Start(DDKey)}
	t.Cleanup(d.DD.Close)
	_, err := d.S3.AWS(t, "s3api", "create-bucket", "--bucket", S3Bucket)
	require.NoError(t, err)
	d.HEC = StartHECPeer(t, HECToken)
	d.Key = NewSigningKey(t)
	d.Env = append([]string{
		d.Key.Env(),
		"POLICYAUDIT_RECEIVER_TOKEN=" + ReceiverToken,
		"POLICYAUDIT_S3_BUCKET=" + S3Bucket,
		"POLICYAUDIT_S3_ENDPOINT=" + d.S3.Endpoint,
		"SPLUNK_HEC_ENDPOINT=" + d.HEC.Endpoint,
		"SPLUNK_HEC_TOKEN=" + HECToken,
		"ELASTICSEARCH_ENDPOINT=" + esURL,
		"ELASTICSEARCH_API_KEY=" + ESKey,
		"DD_API_KEY=" + DDKey,
		"DD_PEER=" + d.DD.URL,
	}, d.S3.Env...)
	return d
}

// DecisionStreams names the policy gateway's data streams (decisions and
// admin events) in Elasticsearch.
const DecisionStreams = "logs-policy_gateway.*"

// ESDocs is every document in the policy gateway's data streams, from the
// node or the peer; nil while the node does not answer (an outage).
func (d *Destinations) ESDocs() []ESDoc {
	if d.ES != nil {
		return d.ES.DocsOrNil(DecisionStreams)
	}
	var out []ESDoc
	for _, doc := range d.ESPeer.Docs() {
		out = append(out, ESDoc{Index: doc.Backing, ID: doc.ID, Source: doc.Source})
	}
	return out
}

// SidecarConfigs is config/examples/common.yaml + all.yaml pointed at the
// peers (testdata/peers.yaml), then extra overlays.
func SidecarConfigs(extra ...string) []string {
	return append([]string{
		filepath.Join(Root, "config", "examples", "common.yaml"),
		filepath.Join(Root, "config", "examples", "all.yaml"),
		filepath.Join(Root, "test", "harness", "testdata", "peers.yaml"),
	}, extra...)
}
