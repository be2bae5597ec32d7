// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package record_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/policyaudit/policyaudit/internal/dialects"
	"github.com/policyaudit/policyaudit/internal/record"
	"github.com/policyaudit/policyaudit/internal/testfixtures"
)

// normalizeFixture is what a fixture of testdata/fixtures becomes at its
// dialect's endpoint, named as the processor names records without an
// id_key.
func normalizeFixture(t testing.TB, name string) []*record.Record {
	t.Helper()
	d, ok := dialects.OfFixture(name)
	require.True(t, ok, name)
	body, err := os.ReadFile(filepath.Join(testfixtures.Dir, name))
	require.NoError(t, err)
	recs, err := dialects.NormalizeBody(d, body)
	require.NoError(t, err, name)
	for _, r := range recs {
		named(r)
	}
	return recs
}

// allFixtures names every registered dialect's fixtures.
func allFixtures() []string {
	var out []string
	for _, d := range dialects.All {
		out = append(out, d.Fixtures...)
	}
	return out
}
