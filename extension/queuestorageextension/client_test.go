// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package queuestorageextension

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.etcd.io/bbolt"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension/xextension/storage"
)

func testConfig(t *testing.T) *Config {
	cfg := createDefaultConfig()
	cfg.Directory = t.TempDir()
	cfg.InlineLimit = 64
	return cfg
}

func newTestClient(t *testing.T, cfg *Config) (*queueStorage, storage.Client) {
	t.Helper()
	s := newQueueStorage(cfg)
	require.NoError(t, s.Start(context.Background(), nil))
	c, err := s.GetClient(context.Background(), component.KindExporter, component.MustNewIDWithName("s3audit", "x"), "sending_queue")
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Shutdown(context.Background())) })
	return s, c
}

// valueFiles lists the files holding large values.
func valueFiles(t *testing.T, cfg *Config) []string {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join(cfg.Directory, "*.values"))
	require.NoError(t, err)
	require.Len(t, dirs, 1)
	entries, err := os.ReadDir(dirs[0])
	require.NoError(t, err)
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, filepath.Join(dirs[0], e.Name()))
	}
	return names
}

func TestGetSetDelete(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t)
	_, c := newTestClient(t, cfg)
	small, large := []byte("ri=7"), bytes.Repeat([]byte("request "), 1000)

	v, err := c.Get(ctx, "absent")
	require.NoError(t, err)
	assert.Nil(t, v)

	require.NoError(t, c.Set(ctx, "ri", small))
	require.NoError(t, c.Set(ctx, "1", large))
	for key, want := range map[string][]byte{"ri": small, "1": large} {
		v, err := c.Get(ctx, key)
		require.NoError(t, err)
		assert.Equal(t, want, v, key)
	}
	assert.Len(t, valueFiles(t, cfg), 1, "the large value has a file, the small one none")

	require.NoError(t, c.Set(ctx, "empty", []byte{}))
	v, err = c.Get(ctx, "empty")
	require.NoError(t, err)
	assert.NotNil(t, v, "an empty value is a value, not an absent key")
	assert.Empty(t, v)

	require.NoError(t, c.Delete(ctx, "1"))
	v, err = c.Get(ctx, "1")
	require.NoError(t, err)
	assert.Nil(t, v)
	assert.Empty(t, valueFiles(t, cfg), "a deleted value's file is removed")
	require.NoError(t, c.Delete(ctx, "1"), "deleting an absent key is no error")
}

func TestBatchIsOrderedAndAtomic(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t)
	_, c := newTestClient(t, cfg)
	old, replacement := bytes.Repeat([]byte("a"), 100), bytes.Repeat([]byte("b"), 100)
	require.NoError(t, c.Set(ctx, "k", old))

	before := &storage.Operation{Type: storage.Get, Key: "k"}
	after := &storage.Operation{Type: storage.Get, Key: "k"}
	require.NoError(t, c.Batch(ctx, before, storage.SetOperation("k", replacement), after))
	assert.Equal(t, old, before.Value, "a Get sees what precedes it in the batch")
	assert.Equal(t, replacement, after.Value)
	assert.Len(t, valueFiles(t, cfg), 1, "the replaced value's file is removed")

	// A batch that fails applies nothing and leaves no file behind.
	err := c.Batch(ctx, storage.SetOperation("k", old), storage.SetOperation("new", replacement), &storage.Operation{Type: 9, Key: "k"})
	require.Error(t, err)
	v, err := c.Get(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, replacement, v)
	v, err = c.Get(ctx, "new")
	require.NoError(t, err)
	assert.Nil(t, v)
	assert.Len(t, valueFiles(t, cfg), 1)
}

// TestReopenKeepsValuesAndRemovesOrphans: what a batch committed survives
// a restart; a file a crash left before its batch committed is removed.
func TestReopenKeepsValuesAndRemovesOrphans(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t)
	s, c := newTestClient(t, cfg)
	large := bytes.Repeat([]byte("z"), 5000)
	require.NoError(t, c.Set(ctx, "1", large))
	require.NoError(t, c.Set(ctx, "wi", []byte{2}))
	require.NoError(t, s.Shutdown(ctx))

	files := valueFiles(t, cfg)
	require.Len(t, files, 1)
	orphan := filepath.Join(filepath.Dir(files[0]), "00000000000000ff")
	require.NoError(t, os.WriteFile(orphan, large[:10], 0o600))

	_, c = newTestClient(t, cfg)
	v, err := c.Get(ctx, "1")
	require.NoError(t, err)
	assert.Equal(t, large, v)
	v, err = c.Get(ctx, "wi")
	require.NoError(t, err)
	assert.Equal(t, []byte{2}, v)
	assert.NoFileExists(t, orphan)

	// New files are numbered past every name seen, the orphan's included.
	require.NoError(t, c.Set(ctx, "2", large))
	assert.Contains(t, valueFiles(t, cfg), filepath.Join(filepath.Dir(files[0]), "0000000000000100"))
}

// TestQueuePatternWritesARequestOnce replays the persistent queue's access
// pattern: each request is written once; the index updates around it do
// not rewrite it (the database stays the size of its small keys).
func TestQueuePatternWritesARequestOnce(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t)
	cfg.InlineLimit = 4096
	_, c := newTestClient(t, cfg)
	request := bytes.Repeat([]byte("r"), 512<<10)
	for i := range 200 {
		key := fmt.Sprint(i)
		require.NoError(t, c.Batch(ctx, storage.SetOperation(key, request), storage.SetOperation("wi", []byte(fmt.Sprint(i+1)))))
		get := &storage.Operation{Type: storage.Get, Key: key}
		require.NoError(t, c.Batch(ctx, storage.SetOperation("ri", []byte(fmt.Sprint(i+1))), storage.SetOperation("di", []byte(key)), get))
		require.Len(t, get.Value, len(request))
		require.NoError(t, c.Batch(ctx, storage.DeleteOperation(key), storage.SetOperation("di", nil)))
	}
	assert.Empty(t, valueFiles(t, cfg))
	dbs, err := filepath.Glob(filepath.Join(cfg.Directory, "*.db"))
	require.NoError(t, err)
	info, err := os.Stat(dbs[0])
	require.NoError(t, err)
	assert.Less(t, info.Size(), int64(len(request)), "100 MB of requests passed through; the database holds only indexes")
}

func TestConcurrentClientsAndKeys(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t)
	_, c := newTestClient(t, cfg)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				key := fmt.Sprintf("%d-%d", w, i)
				value := bytes.Repeat([]byte{byte(i)}, 50+i*3)
				assert.NoError(t, c.Set(ctx, key, value))
				got, err := c.Get(ctx, key)
				assert.NoError(t, err)
				assert.Equal(t, value, got)
				// Readers of another key while its value is replaced.
				_, err = c.Get(ctx, fmt.Sprintf("%d-%d", (w+1)%4, i))
				assert.NoError(t, err)
				if i%2 == 0 {
					assert.NoError(t, c.Delete(ctx, key))
				}
			}
		}()
	}
	wg.Wait()
	// Kept (odd i) and over the 64-byte limit (50+3i > 64: i >= 5): 48 a worker.
	assert.Len(t, valueFiles(t, cfg), 4*48, "exactly the live large values have files")
}

func TestCloseTwiceAndShutdown(t *testing.T) {
	ctx := context.Background()
	s, c := newTestClient(t, testConfig(t))
	require.NoError(t, c.Close(ctx))
	require.NoError(t, c.Close(ctx))
	require.NoError(t, s.Shutdown(ctx))
	require.NoError(t, s.Shutdown(ctx))
	_, err := c.Get(ctx, "k")
	assert.Error(t, err, "a closed client refuses")
}

// A database edited on disk cannot make the storage read or delete a file
// outside its values directory: a value naming "../outside" is refused, and
// replacing it removes nothing there.
func TestAValueNamingAPathOutsideIsRefused(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t)
	_, c := newTestClient(t, cfg)
	outside := filepath.Join(cfg.Directory, "outside")
	require.NoError(t, os.WriteFile(outside, []byte("not the queue's"), 0o600))
	err := c.(*client).db.Update(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucket).Put([]byte("k"), append([]byte{tagBlob}, "../outside"...))
	})
	require.NoError(t, err)

	_, err = c.Get(ctx, "k")
	assert.ErrorContains(t, err, "not one this storage writes")
	require.NoError(t, c.Set(ctx, "k", []byte("small")))
	assert.FileExists(t, outside)
}

// Issue 26, bug 4: the README's power-loss row rests on the order file sync,
// directory sync, commit: a committed transaction must never name a value
// file whose content or name had not reached the disk. Each sync is seen
// through the blob directory's hook, with whether the database already
// names the value at that moment.
func TestValueFilesAreSyncedBeforeTheCommitNamesThem(t *testing.T) {
	ctx := context.Background()
	cfg := testConfig(t)
	cfg.FSync = true
	_, sc := newTestClient(t, cfg)
	c := sc.(*client)
	committed := func(key string) bool {
		var named bool
		require.NoError(t, c.db.View(func(tx *bbolt.Tx) error {
			named = tx.Bucket(bucket).Get([]byte(key)) != nil
			return nil
		}))
		return named
	}
	var events []string
	c.blobs.sync = func(f *os.File) error {
		info, err := f.Stat()
		require.NoError(t, err)
		kind := "file"
		if info.IsDir() {
			kind = "dir"
		}
		events = append(events, fmt.Sprintf("%s sync, committed=%t/%t", kind, committed("a"), committed("b")))
		return f.Sync()
	}
	large := bytes.Repeat([]byte("request "), 100)
	require.NoError(t, c.Batch(ctx, storage.SetOperation("a", large), storage.SetOperation("b", large)))
	assert.Equal(t, []string{
		"file sync, committed=false/false",
		"file sync, committed=false/false",
		"dir sync, committed=false/false",
	}, events, "both files, then their directory, all before the commit")
	assert.True(t, committed("a") && committed("b"), "then the commit")

	events = nil
	c.blobs.fsync = false // fsync: false syncs nothing
	require.NoError(t, c.Set(ctx, "c", large))
	assert.Empty(t, events)
}
