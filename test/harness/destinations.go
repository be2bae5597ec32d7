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
	ESKey         = "es-api-key"
	DDKey         = "0123456789abcdef0123456789abcdef"
	S3Bucket      = "policy-audit"
)

// Destinations are the peers of the all-destinations sidecar
// (config/examples/all.yaml): versitygw as S3, splunkhecreceiver as Splunk
// HEC, and the Elasticsearch and Datadog contract peers.
type Destinations struct {
	S3  *S3
	HEC *HECPeer
	ES  *elasticsearch.Server
	DD  *datadog.Server
	// Key signs the audit store's chain head.
	Key *SigningKey
	// Env is what the sidecar needs to reach them (its receiver token and
	// signing key too).
	Env []string
}

// StartDestinations starts every peer until the test ends (after the
// collectors the test starts later, which stop first).
func StartDestinations(t testing.TB) *Destinations {
	t.Helper()
	d := &Destinations{S3: StartS3(t), ES: elasticsearch.Start(ESKey), DD: datadog.Start(DDKey)}
	t.Cleanup(d.ES.Close)
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
		"ELASTICSEARCH_ENDPOINT=" + d.ES.URL,
		"ELASTICSEARCH_API_KEY=" + ESKey,
		"DD_API_KEY=" + DDKey,
		"DD_PEER=" + d.DD.URL,
	}, d.S3.Env...)
	return d
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
