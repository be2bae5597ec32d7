// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/policyaudit/policyaudit/internal/s3digest"
)

// Issue 25, part 3: a digest verifies only where it was written.
func TestDigestMustNameTheVerifiedPlace(t *testing.T) {
	v := &s3Trail{bucket: "policy-audit", digestPrefix: "policy-audit/_digest"}
	assert.Empty(t, v.where(s3digest.Digest{Bucket: "policy-audit", DigestPrefix: "policy-audit/_digest/"}))
	assert.Equal(t, "s3://other/policy-audit/_digest", v.where(s3digest.Digest{Bucket: "other", DigestPrefix: "policy-audit/_digest"}))
	assert.Equal(t, "s3://policy-audit/copy/_digest", v.where(s3digest.Digest{Bucket: "policy-audit", DigestPrefix: "copy/_digest"}))
	assert.Equal(t, "s3://policy-audit/", v.where(s3digest.Digest{Bucket: "policy-audit"}), "a digest that names no prefix")
}
