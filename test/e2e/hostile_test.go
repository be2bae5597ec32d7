// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package e2e

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/policyaudit/policyaudit/test/harness"
)

// gzipBody compresses body.
func gzipBody(t *testing.T, body []byte) []byte {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	require.NoError(t, err)
	_, err = zw.Write(body)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

// Issue 10, item 1: small gzip bodies that expand to 20 MiB of records the
// limits refuse, eight at once, in each shape. The answers are 413 (or 503
// when the in-flight byte budget is full), and the collector's peak RSS
// stays within 100 MiB of what it was before (it was 606 MiB for one such
// array before the limits were checked in the scan).
func TestDecompressionBombsStayBounded(t *testing.T) {
	const size = 20 << 20
	deep := `{"policy_id":"p","decision":"allow","x":` + strings.Repeat(`[`, 31) + strings.Repeat(`]`, 31) + `}`
	var wide strings.Builder
	wide.WriteString(`{"policy_id":"p","decision":"allow","created_at":"2026-03-02T10:00:00Z","x":{`)
	for i := 0; i < 6000; i++ {
		fmt.Fprintf(&wide, `"k%d":%d,`, i, i)
	}
	wide.WriteString(`"end":0}}` + "\n")
	refused := []int{http.StatusRequestEntityTooLarge, http.StatusServiceUnavailable}
	bombs := map[string]struct {
		contentType string
		body        []byte
		answers     []int
	}{
		"array of empty objects":                        {"application/json", []byte("[" + strings.Repeat("{},", size/3) + "{}]"), refused},
		"ndjson of empty objects":                       {"application/x-ndjson", []byte(strings.Repeat("{}\n", size/3)), refused},
		"ndjson of records nested just under the limit": {"application/x-ndjson", []byte(strings.Repeat(deep+"\n", size/len(deep))), refused},
		// Valid records of 6,000 keys each, 5 MiB a request: taken, or
		// refused for now with 503 while others hold the budget.
		"ndjson of wide records just under the body limit": {"application/x-ndjson", []byte(strings.Repeat(wide.String(), (5<<20)/wide.Len())), []int{http.StatusOK, http.StatusServiceUnavailable}},
	}
	c := harness.StartDefault(t)
	for name, b := range bombs {
		t.Run(name, func(t *testing.T) {
			compressed := gzipBody(t, b.body)
			before := c.PeakRSSKiB(t)
			var wg sync.WaitGroup
			statuses := make([]int, 8)
			for i := range statuses {
				wg.Add(1)
				go func() {
					defer wg.Done()
					req, _ := http.NewRequest(http.MethodPost, c.URL+"/v1/decisions", bytes.NewReader(compressed))
					req.Header.Set("Content-Type", b.contentType)
					req.Header.Set("Content-Encoding", "gzip")
					resp, err := http.DefaultClient.Do(req)
					if assert.NoError(t, err) {
						resp.Body.Close()
						statuses[i] = resp.StatusCode
					}
				}()
			}
			wg.Wait()
			for _, s := range statuses {
				assert.Contains(t, b.answers, s, "%d bytes gzip: %v", len(compressed), statuses)
			}
			after := c.PeakRSSKiB(t)
			t.Logf("%s: %d KiB gzip, 8 at once: answers %v, peak RSS %d MiB before, %d MiB after", name, len(compressed)>>10, statuses, before>>10, after>>10)
			assert.LessOrEqual(t, after-before, 100<<10, "peak RSS grew by %d MiB", (after-before)>>10)
		})
	}
}
