// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package harness

import (
	"bufio"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
)

// HECEvent is one event as the Splunk HEC peer received it.
type HECEvent struct {
	Event    map[string]any // the HEC event
	Fields   map[string]any // the indexed fields
	Resource map[string]any // com.splunk.index/source/sourcetype, host.name
	Time     time.Time
}

// HECPeer is contrib's splunkhecreceiver (in the distribution) running as a
// real HEC endpoint that checks the token and writes what it receives.
type HECPeer struct {
	*Collector
	Endpoint string // the URL splunk_hec sends to
	out      string
}

// StartHECPeer runs the HEC peer until the test ends.
func StartHECPeer(t testing.TB, token string) *HECPeer {
	t.Helper()
	out := filepath.Join(t.TempDir(), "hec.json")
	c := StartCollector(t, []string{"SPLUNK_HEC_TOKEN=" + token, "HEC_PEER_OUT=" + out},
		filepath.Join(Root, "test", "harness", "testdata", "hec-peer.yaml"))
	return &HECPeer{Collector: c, Endpoint: c.URL + "/services/collector/event", out: out}
}

// OutputPath is the file the peer writes what it receives to.
func (p *HECPeer) OutputPath() string { return p.out }

// Events reads every event the peer has written so far.
func (p *HECPeer) Events(t testing.TB) []HECEvent {
	t.Helper()
	f, err := os.Open(p.out)
	if os.IsNotExist(err) {
		return nil
	}
	require.NoError(t, err)
	defer f.Close()
	var events []HECEvent
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 256<<20)
	var um plog.JSONUnmarshaler
	for sc.Scan() {
		ld, err := um.UnmarshalLogs(sc.Bytes())
		if err != nil {
			return events // a line still being written
		}
		for i := 0; i < ld.ResourceLogs().Len(); i++ {
			rl := ld.ResourceLogs().At(i)
			for j := 0; j < rl.ScopeLogs().Len(); j++ {
				lrs := rl.ScopeLogs().At(j).LogRecords()
				for k := 0; k < lrs.Len(); k++ {
					lr := lrs.At(k)
					ev := HECEvent{Fields: lr.Attributes().AsRaw(), Resource: rl.Resource().Attributes().AsRaw(), Time: lr.Timestamp().AsTime()}
					ev.Event, _ = lr.Body().AsRaw().(map[string]any)
					events = append(events, ev)
				}
			}
		}
	}
	return events
}
