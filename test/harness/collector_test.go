// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package harness

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// A port taken between FreePort and the collector's listener (CI lost a
// run to it) costs a retry on other ports, not the test.
func TestCollectorStartsOnOtherPortsWhenOneIsTaken(t *testing.T) {
	c := &Collector{DataDir: t.TempDir(), configs: []string{filepath.Join(Root, "config", "default.yaml")}}
	c.base = os.Environ()
	c.choosePorts(t)
	taken, err := net.Listen("tcp", strings.TrimSuffix(strings.TrimPrefix(c.health, "http://"), "/"))
	require.NoError(t, err)
	defer taken.Close()
	require.False(t, c.start(t, true), "the collector started on a port another process holds:\n%s", c.Log)
	require.NotNil(t, c.Cmd.ProcessState, "the collector that lost its port is still running")

	c.choosePorts(t)
	require.True(t, c.start(t, true))
	c.Stop(t)
}
