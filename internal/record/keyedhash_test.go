// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package record

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// The keyed hash is HMAC-SHA256 as any implementation computes it (the
// expected value is Python's hmac.new(key, value, sha256).hexdigest()).
func TestKeyedHash(t *testing.T) {
	got := KeyedHash([]byte("0123456789abcdef0123"), "alice@example.com")
	assert.Equal(t, "hmac-sha256:dd667a2d0043a35b508dbfa2a1b42443ecd2cf5f8046215ff6e622f0d2dac2a1", got)
	assert.True(t, IsKeyedHash(got))
	for _, s := range []string{"alice@example.com", "hmac-sha256:dd66", "hmac-sha256:" + string(make([]byte, 64)), "sha256:dd667a2d0043a35b508dbfa2a1b42443ecd2cf5f8046215ff6e622f0d2dac2a1"} {
		assert.False(t, IsKeyedHash(s), s)
	}
}
