// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package s3auditexporter

import "github.com/policyaudit/policyaudit/internal/s3archive"

// ArchiveConfig is the archive controls of every object the exporter
// writes (internal/s3archive).
type ArchiveConfig = s3archive.Config

// ObjectLockConfig is their Object Lock retention.
type ObjectLockConfig = s3archive.ObjectLockConfig

// Encryption and lock modes as S3 names them.
const (
	EncryptionAES256 = s3archive.EncryptionAES256
	EncryptionKMS    = s3archive.EncryptionKMS
	LockGovernance   = s3archive.LockGovernance
	LockCompliance   = s3archive.LockCompliance
)
