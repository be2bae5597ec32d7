// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/policyaudit/policyaudit/internal/s3digest"
)

// What verify s3 says of an object whose encryption or retention is not
// what its digest recorded (versitygw shows the shortened retention and the
// missing encryption end to end: TestS3ArchiveIsLockedAndEncrypted).
func TestEveryWeakenedProtectionIsNamed(t *testing.T) {
	want := s3digest.Protection{Encryption: "aws:kms", KMSKeyID: "key-1", LockMode: "COMPLIANCE", RetainUntil: "2033-03-02T00:00:00Z", LegalHold: true}
	for name, c := range map[string]struct {
		got  s3digest.Protection
		want string // "" : nothing named
	}{
		"as recorded":              {want, ""},
		"the key's ARN for its ID": {with(want, func(p *s3digest.Protection) { p.KMSKeyID = "arn:aws:kms:eu-west-1:1:key/key-1" }), ""},
		"retention longer":         {with(want, func(p *s3digest.Protection) { p.RetainUntil = "2034-01-01T00:00:00Z" }), ""},
		"unencrypted":              {with(want, func(p *s3digest.Protection) { p.Encryption, p.KMSKeyID = "", "" }), "is stored unencrypted, the digest says encrypted with aws:kms"},
		"another KMS key":          {with(want, func(p *s3digest.Protection) { p.KMSKeyID = "arn:aws:kms:eu-west-1:1:key/key-2" }), "is encrypted with KMS key arn:aws:kms:eu-west-1:1:key/key-2, the digest says key-1"},
		"retention removed":        {with(want, func(p *s3digest.Protection) { p.LockMode, p.RetainUntil = "", "" }), "its Object Lock retention was removed (the digest says COMPLIANCE until 2033-03-02T00:00:00Z)"},
		"retention shortened":      {with(want, func(p *s3digest.Protection) { p.RetainUntil = "2027-01-01T00:00:00Z" }), "its retention was shortened from 2033-03-02T00:00:00Z to 2027-01-01T00:00:00Z"},
		"compliance to governance": {with(want, func(p *s3digest.Protection) { p.LockMode = "GOVERNANCE" }), "its retention mode is GOVERNANCE, the digest says COMPLIANCE"},
		"legal hold lifted":        {with(want, func(p *s3digest.Protection) { p.LegalHold = false }), "its legal hold was lifted"},
	} {
		t.Run(name, func(t *testing.T) {
			v := &s3Trail{}
			v.checkProtection("k", "d", want, c.got)
			if c.want == "" {
				assert.Empty(t, v.problems)
				return
			}
			assert.Contains(t, strings.Join(v.problems, "\n"), c.want)
		})
	}
	// Governance strengthened to compliance is not a problem.
	v := &s3Trail{}
	gov := with(want, func(p *s3digest.Protection) { p.LockMode = "GOVERNANCE" })
	v.checkProtection("k", "d", gov, want)
	assert.Empty(t, v.problems)
}

func with(p s3digest.Protection, change func(*s3digest.Protection)) s3digest.Protection {
	change(&p)
	return p
}
