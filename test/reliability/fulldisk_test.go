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
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/policyaudit/policyaudit/test/harness"
)

// smallVolume mounts a tmpfs of size MiB for the test (the queue's volume).
func smallVolume(t *testing.T, mib int) string {
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%dm", mib), "tmpfs", dir).CombinedOutput()
	require.NoError(t, err, "mounting a tmpfs (the test runs as root, as CI does): %s", out)
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
	return dir
}

func freeMiB(t *testing.T, dir string) int {
	var st syscall.Statfs_t
	require.NoError(t, syscall.Statfs(dir, &st))
	return int(st.Bavail * uint64(st.Bsize) >> 20)
}

// Issue 10, item 3: the S3 sidecar with its queue bounded in bytes on a
// small volume, S3 down: the queue fills and the receiver answers 503 long
// before the disk is full; after a graceful stop or a SIGKILL, a restart and
// S3 coming back, every acknowledged record is in S3.
func TestFullQueueOnASmallVolumeLosesNothingAcknowledged(t *testing.T) {
	for _, stop := range []string{"graceful", "SIGKILL"} {
		t.Run(stop, func(t *testing.T) {
			volume := smallVolume(t, 48)
			s3 := harness.StartS3(t)
			_, err := s3.AWS(t, "s3api", "create-bucket", "--bucket", harness.S3Bucket)
			require.NoError(t, err)
			s3.Stop()
			overlay := filepath.Join(t.TempDir(), "volume.yaml")
			require.NoError(t, os.WriteFile(overlay, []byte(fmt.Sprintf(
				"extensions:\n  queue_storage:\n    directory: %s/queue\n    create_directory: true\n"+
					"exporters:\n  s3audit:\n    digest:\n      directory: %s/s3digest\n", volume, volume)), 0o600))
			env := append([]string{
				"POLICYAUDIT_RECEIVER_TOKEN=" + harness.ReceiverToken,
				"POLICYAUDIT_S3_BUCKET=" + harness.S3Bucket,
				"POLICYAUDIT_S3_ENDPOINT=" + s3.Endpoint,
				"POLICYAUDIT_QUEUE_BYTES=" + fmt.Sprint(8<<20),
				harness.NewSigningKey(t).Env(),
			}, s3.Env...)
			examples := filepath.Join(harness.Root, "config", "examples")
			c := harness.StartCollector(t, env, filepath.Join(examples, "common.yaml"), filepath.Join(examples, "s3.yaml"), overlay)

			const batch = 200
			var acked []string
			refused := 0
			for i := 0; i < 300*batch && refused < 5; i += batch {
				status, retryAfter, answer, err := harness.PostAnswer(c.URL, harness.ReceiverToken, harness.Decisions("disk", i, batch))
				require.NoError(t, err)
				switch status {
				case http.StatusOK:
					for j := i; j < i+batch; j++ {
						acked = append(acked, fmt.Sprintf("disk-%d", j))
					}
				case http.StatusServiceUnavailable:
					refused++
					assert.NotEmpty(t, retryAfter)
					assert.NotContains(t, answer, "no space left", "the queue is full before the disk is")
				default:
					t.Fatalf("status %d: %s", status, answer)
				}
			}
			require.NotZero(t, refused, "the queue of 8 MiB never filled")
			free := freeMiB(t, volume)
			t.Logf("%s: %d records acknowledged, then 503; %d MiB of the 48 MiB volume still free; the 8 MiB queue holds %d bytes a record (%d MiB an hour at 1,000 records/s)",
				stop, len(acked), free, (8<<20)/len(acked), (8<<20)/len(acked)*1000*3600>>20)
			assert.Greater(t, free, 8, "headroom left on the volume")

			if stop == "SIGKILL" {
				c.Kill(t)
			} else {
				c.Stop(t)
			}
			s3.Start(t)
			c.Restart(t)
			download := t.TempDir()
			waitFor(t, c, "the acknowledged records in S3 after the restart", 3*time.Minute, func() bool {
				_ = os.RemoveAll(download)
				lines, err := s3.Download(t, harness.S3Bucket, download)
				if err != nil {
					return false
				}
				got := map[string]int{}
				for _, l := range lines {
					if i := strings.Index(l, `"event_id":"`); i >= 0 {
						rest := l[i+len(`"event_id":"`):]
						got[rest[:strings.IndexByte(rest, '"')]]++
					}
				}
				return hasAll(got, acked)
			})
			assert.NotContains(t, c.Log.String(), "panic")
		})
	}
}

// Issue 10, item 3: the audit store's database on a volume that fills.
// Appends fail (SQLite: disk full) and are retried from the queue, which
// lives elsewhere; once the volume has room again every acknowledged record
// is stored, once, and the chain verifies.
func TestAuditStoreOnAFullVolumeCatchesUp(t *testing.T) {
	volume := smallVolume(t, 3)
	overlay := filepath.Join(t.TempDir(), "volume.yaml")
	require.NoError(t, os.WriteFile(overlay, []byte(fmt.Sprintf(
		"extensions:\n  auditstore:\n    path: %s/audit.db\nexporters:\n  auditstore:\n    retry_on_failure:\n      max_interval: 2s\n", volume)), 0o600))
	examples := filepath.Join(harness.Root, "config", "examples")
	c := harness.StartCollector(t, []string{"POLICYAUDIT_RECEIVER_TOKEN=" + harness.ReceiverToken, harness.NewSigningKey(t).Env()},
		filepath.Join(examples, "common.yaml"), filepath.Join(examples, "auditstore.yaml"), overlay)

	const batch, total = 500, 10000
	for i := 0; i < total; i += batch {
		status, _, answer, err := harness.PostAnswer(c.URL, harness.ReceiverToken, harness.Decisions("store", i, batch))
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, status, "the queue takes them while the store's volume is full: %s", answer)
	}
	waitFor(t, c, "the store's volume filling", time.Minute, func() bool {
		return strings.Contains(c.Log.String(), "database or disk is full")
	})
	stored := len(c.StoredDecisions(t, harness.ReceiverToken))
	t.Logf("the 3 MiB volume holds %d of %d records; the rest wait in the queue", stored, total)
	require.Less(t, stored, total)

	out, err := exec.Command("mount", "-o", "remount,size=64m", volume).CombinedOutput()
	require.NoError(t, err, "%s", out)
	waitFor(t, c, "every acknowledged record in the store", 2*time.Minute, func() bool {
		return len(c.StoredDecisions(t, harness.ReceiverToken)) >= total
	})
	decisions := c.StoredDecisions(t, harness.ReceiverToken)
	seen := map[string]bool{}
	for _, d := range decisions {
		seen[d["event_id"].(string)] = true
	}
	assert.Len(t, seen, total, "each once")
	assert.Len(t, decisions, total)
	req, _ := http.NewRequest(http.MethodGet, c.Query+"/api/v1/verify", nil)
	req.Header.Set("Authorization", "Bearer "+harness.ReceiverToken)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var rep struct {
		OK       bool `json:"ok"`
		Anchored bool `json:"anchored"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&rep))
	assert.True(t, rep.OK && rep.Anchored, "the chain verifies, anchored")
}
