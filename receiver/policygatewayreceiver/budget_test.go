// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package policygatewayreceiver

import (
	"bytes"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Bodies read at once share the budget, each reserving its body and
// decodeFactor times its body; what one releases, another may use.
func TestByteBudgetCapsBodiesInFlight(t *testing.T) {
	b := &byteBudget{limit: 4 << 20}
	small := bytes.Repeat([]byte("x"), 100<<10)
	first, releaseFirst, err := b.readBody(bytes.NewReader(small))
	require.NoError(t, err)
	assert.Equal(t, small, first)
	assert.Equal(t, int64(128<<10+decodeFactor*len(small)), b.used.Load(), "the buffer grown to 128 KiB, and the decoding")

	_, releaseBig, err := b.readBody(bytes.NewReader(make([]byte, 2<<20)))
	assert.ErrorIs(t, err, errBudget, "a body larger than what is left is refused")
	releaseBig()
	releaseFirst()
	assert.Zero(t, b.used.Load(), "everything is returned")

	got, release, err := b.readBody(io.LimitReader(bytes.NewReader(make([]byte, 3<<20)), 300<<10))
	require.NoError(t, err)
	assert.Len(t, got, 300<<10)
	release()
	assert.Zero(t, b.used.Load())
}
