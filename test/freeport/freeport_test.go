// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package freeport

import (
	"net"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestGetIsBelowTheEphemeralRangeFreeAndNeverRepeats(t *testing.T) {
	low, high := Range()
	seen := map[int]bool{}
	for range 200 {
		p, err := Get()
		require.NoError(t, err)
		require.False(t, seen[p], "port %d handed out twice", p)
		require.True(t, p >= low && p < high, "port %d outside [%d, %d)", p, low, high)
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		require.NoError(t, err, "port %d is not free", p)
		ln.Close()
		seen[p] = true
	}
}
