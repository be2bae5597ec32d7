// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package journalconnector

import (
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func readAll(t *testing.T, j *journal, from position) ([]string, position) {
	t.Helper()
	r := &reader{j: j, pos: from}
	defer r.close()
	var got []string
	for {
		payloads, next, err := r.read(1 << 20)
		require.NoError(t, err)
		if len(payloads) == 0 {
			return got, r.pos
		}
		for _, p := range payloads {
			got = append(got, string(p))
		}
		r.advance(next)
	}
}

func TestConcurrentAppendsAreEachReadOnceInOrderOfWriting(t *testing.T) {
	dir := t.TempDir()
	j, err := openJournal(dir, true, 1<<16, 1<<30)
	require.NoError(t, err)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				assert.NoError(t, j.append(fmt.Appendf(nil, "w%d-%04d-%s", w, i, make([]byte, 100))))
			}
		}()
	}
	wg.Wait()
	got, _ := readAll(t, j, j.oldest())
	require.Len(t, got, 1600)
	seen := map[string]bool{}
	last := map[byte]string{}
	for _, g := range got {
		require.False(t, seen[g], "read twice: %s", g[:8])
		seen[g] = true
		w := g[1]
		require.Less(t, last[w], g[:7], "a writer's entries in its order")
		last[w] = g[:7]
	}
	assert.Greater(t, len(j.segments), 2, "rolled over into new segments")
	require.NoError(t, j.close())
	require.NoError(t, j.close(), "closing twice")
}

func TestATornLastEntryIsCutOffAtOpen(t *testing.T) {
	dir := t.TempDir()
	j, err := openJournal(dir, true, 1<<20, 1<<30)
	require.NoError(t, err)
	for i := range 3 {
		require.NoError(t, j.append(fmt.Appendf(nil, "entry-%d", i)))
	}
	require.NoError(t, j.close())
	// A crash in the middle of the fourth entry: its header and half of it.
	f, err := os.OpenFile(j.path(1), os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = f.Write([]byte{20, 0, 0, 0, 1, 2, 3, 4, 'h', 'a', 'l', 'f'})
	require.NoError(t, err)
	require.NoError(t, f.Close())

	j, err = openJournal(dir, true, 1<<20, 1<<30)
	require.NoError(t, err)
	defer j.close()
	assert.Equal(t, int64(12), j.cut, "what was cut is known, for the log")
	require.NoError(t, j.append([]byte("after")))
	got, _ := readAll(t, j, j.oldest())
	assert.Equal(t, []string{"entry-0", "entry-1", "entry-2", "after"}, got)
}

func TestAFullJournalRefusesUntilSegmentsAreReleased(t *testing.T) {
	dir := t.TempDir()
	j, err := openJournal(dir, false, 1<<16, 1<<17)
	require.NoError(t, err)
	defer j.close()
	entry := make([]byte, 10000)
	var appended int
	for ; appended < 100; appended++ { // bounded: a journal that never fills must not fill the disk
		if err := j.append(entry); err != nil {
			require.ErrorIs(t, err, errFull)
			break
		}
	}
	require.Equal(t, 13, appended, "as many 10,008-byte entries as 128 KiB holds")
	_, end := readAll(t, j, j.oldest())
	require.NoError(t, j.release(end))
	assert.Len(t, j.segments, 1, "only the active segment is kept")
	require.NoError(t, j.append(entry), "room again once the readers are past")
	files, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, files, 1)
}

func TestAReaderWhoseSegmentWasReleasedGoesOnFromTheOldest(t *testing.T) {
	dir := t.TempDir()
	j, err := openJournal(dir, false, 1<<16, 1<<30)
	require.NoError(t, err)
	defer j.close()
	for range 20 {
		require.NoError(t, j.append(make([]byte, 10000)))
	}
	require.NoError(t, j.release(position{Segment: 3}))
	got, _ := readAll(t, j, position{Segment: 1, Offset: 0})
	assert.Len(t, got, 20-2*7, "the entries of segments 3 and on")
}

func TestACursorThatIsTornOrMissingIsNotUsed(t *testing.T) {
	dir := t.TempDir()
	path := cursorPath(dir, "logs/s3")
	_, ok := loadCursor(path)
	assert.False(t, ok)
	require.NoError(t, saveCursor(path, position{Segment: 7, Offset: 12345}))
	p, ok := loadCursor(path)
	require.True(t, ok)
	assert.Equal(t, position{Segment: 7, Offset: 12345}, p)
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	b[3] ^= 1
	require.NoError(t, os.WriteFile(path, b, 0o600))
	_, ok = loadCursor(path)
	assert.False(t, ok, "a changed cursor fails its checksum")
}
