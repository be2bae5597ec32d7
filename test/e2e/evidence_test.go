// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/policyaudit/policyaudit/internal/auditstore"
	"github.com/policyaudit/policyaudit/internal/evidence"
	"github.com/policyaudit/policyaudit/test/harness"
)

// auditstore.yaml with an evidence target: after each period the store
// writes the period's signed bundle to S3, locked; each verifies offline,
// and together they hold every record posted.
func TestTheStoreWritesAnEvidenceBundleEveryPeriod(t *testing.T) {
	s3 := harness.StartS3(t)
	_, err := s3.AWS(t, "s3api", "create-bucket", "--bucket", "evidence", "--object-lock-enabled-for-bucket")
	require.NoError(t, err)
	key := harness.NewSigningKey(t)
	examples := filepath.Join(harness.Root, "config", "examples")
	c := harness.StartCollector(t, append([]string{key.Env(), "POLICYAUDIT_RECEIVER_TOKEN=" + harness.ReceiverToken,
		"POLICYAUDIT_EVIDENCE_TARGET=s3://evidence/bundles", "POLICYAUDIT_EVIDENCE_PERIOD=2s", "POLICYAUDIT_EVIDENCE_DELAY=3s", "POLICYAUDIT_S3_ENDPOINT=" + s3.Endpoint,
		"POLICYAUDIT_EVIDENCE_LOCK_MODE=GOVERNANCE", "POLICYAUDIT_EVIDENCE_RETENTION_DAYS=1"}, s3.Env...),
		filepath.Join(examples, "common.yaml"), filepath.Join(examples, "auditstore.yaml"))

	const n = 6
	for i := range n {
		line := fmt.Sprintf(`{"policy_id":"p","decision":"deny","request_id":"ev-%d","created_at":%q}`+"\n", i, time.Now().UTC().Format(time.RFC3339Nano))
		status, _, err := harness.Post(c.URL, harness.ReceiverToken, []byte(line))
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, status)
		time.Sleep(700 * time.Millisecond)
	}
	pub := key.Signer.PublicKey()
	var keys []string
	records := 0
	require.Eventually(t, func() bool {
		out, err := s3.AWS(t, "s3api", "list-objects-v2", "--bucket", "evidence", "--prefix", "bundles/", "--query", "Contents[].Key", "--output", "json")
		if err != nil {
			return false
		}
		keys = nil
		_ = json.Unmarshal(out, &keys)
		records = 0
		for _, k := range keys {
			body, err := s3.AWS(t, "s3", "cp", "s3://evidence/"+k, "-")
			require.NoError(t, err)
			res, err := evidence.Verify(bytes.NewReader(body), auditstore.NewKeyring(pub))
			require.NoError(t, err, k)
			require.True(t, res.OK, "%s: %v", k, res.Problems)
			records += res.Records
		}
		return records >= n
	}, 30*time.Second, time.Second, "the bundles do not hold the %d records:\n%s", n, c.Log)
	assert.Equal(t, n, records, "each record in exactly one period's bundle")
	for _, k := range keys {
		assert.Regexp(t, `^bundles/date=\d{4}-\d{2}-\d{2}/evidence_\d{8}T\d{6}Z_\d{8}T\d{6}Z\.tar\.gz$`, k)
	}
	_, err = s3.AWS(t, "s3api", "delete-object", "--bucket", "evidence", "--key", keys[0])
	var refused *exec.ExitError
	require.ErrorAs(t, err, &refused, "a locked bundle is deleted")
	assert.True(t, strings.Contains(string(refused.Stderr), "AccessDenied"), string(refused.Stderr))
}
