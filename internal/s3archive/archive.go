// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

// Package s3archive is what makes S3 keep an object as a compliance
// archive must: server-side encryption and an S3 Object Lock retention,
// asked for on each write, recorded for the digest that lists it. The
// s3audit exporter and the audit store's evidence bundles write through it.
package s3archive // import "github.com/policyaudit/policyaudit/internal/s3archive"

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/policyaudit/policyaudit/internal/s3digest"
)

// Config asks S3 to keep every object the exporter writes (data
// objects, digests and their signatures) encrypted and locked: what a
// compliance archive needs and what digests alone cannot give (they detect
// a deletion; a lock prevents it).
type Config struct {
	// Encryption is the server-side encryption: AES256 (SSE-S3) or aws:kms
	// (SSE-KMS, with KMSKeyID, or the bucket's default KMS key); empty
	// leaves it to the bucket's default encryption.
	Encryption string `mapstructure:"encryption"`
	KMSKeyID   string `mapstructure:"kms_key_id"`
	// ObjectLock retains each object (the bucket must have Object Lock on).
	ObjectLock ObjectLockConfig `mapstructure:"object_lock"`
	_          struct{}
}

// ObjectLockConfig is the S3 Object Lock retention of each object.
type ObjectLockConfig struct {
	// Mode is GOVERNANCE (users with s3:BypassGovernanceRetention can
	// shorten or remove it) or COMPLIANCE (nobody can, not even the account's
	// root user, until the date); empty: no lock.
	Mode string `mapstructure:"mode"`
	// RetentionDays from each object's write.
	RetentionDays int `mapstructure:"retention_days"`
	// LegalHold also places a legal hold, which keeps the object until it
	// is removed, whatever the retention date.
	LegalHold bool `mapstructure:"legal_hold"`
	_         struct{}
}

// Encryption and lock modes as S3 names them.
const (
	EncryptionAES256 = string(types.ServerSideEncryptionAes256)
	EncryptionKMS    = string(types.ServerSideEncryptionAwsKms)
	LockGovernance   = string(types.ObjectLockModeGovernance)
	LockCompliance   = string(types.ObjectLockModeCompliance)
)

// Validate names each bad key under prefix (archive.).
func (a Config) Validate(prefix string) []error {
	var errs []error
	switch a.Encryption {
	case "", EncryptionAES256, EncryptionKMS:
	default:
		errs = append(errs, fmt.Errorf(prefix+"encryption: %q is not one of AES256, aws:kms (or empty: the bucket's default)", a.Encryption))
	}
	if a.KMSKeyID != "" && a.Encryption != EncryptionKMS {
		errs = append(errs, errors.New(prefix+"kms_key_id: only with encryption aws:kms"))
	}
	switch a.ObjectLock.Mode {
	case "":
		if a.ObjectLock.RetentionDays != 0 || a.ObjectLock.LegalHold {
			errs = append(errs, errors.New(prefix+"object_lock.mode: GOVERNANCE or COMPLIANCE is required with retention_days or legal_hold"))
		}
	case LockGovernance, LockCompliance:
		if a.ObjectLock.RetentionDays <= 0 {
			errs = append(errs, errors.New(prefix+"object_lock.retention_days: must be positive with a mode"))
		}
	default:
		errs = append(errs, fmt.Errorf(prefix+"object_lock.mode: %q is not one of GOVERNANCE, COMPLIANCE", a.ObjectLock.Mode))
	}
	return errs
}

// Locks reports an Object Lock retention on every object.
func (a Config) Locks() bool { return a.ObjectLock.Mode != "" }

// protect sets the encryption and lock of an object written at now, and
// returns what it asked for, as the digest records it.
func (a Config) protect(in *s3.PutObjectInput, now time.Time) s3digest.Protection {
	var p s3digest.Protection
	if a.Encryption != "" {
		in.ServerSideEncryption = types.ServerSideEncryption(a.Encryption)
		p.Encryption = a.Encryption
		if a.KMSKeyID != "" {
			in.SSEKMSKeyId = aws.String(a.KMSKeyID)
			p.KMSKeyID = a.KMSKeyID
		}
	}
	if a.Locks() {
		until := now.UTC().Truncate(time.Second).AddDate(0, 0, a.ObjectLock.RetentionDays)
		in.ObjectLockMode = types.ObjectLockMode(a.ObjectLock.Mode)
		in.ObjectLockRetainUntilDate = aws.Time(until)
		p.LockMode, p.RetainUntil = a.ObjectLock.Mode, until.Format(time.RFC3339)
		if a.ObjectLock.LegalHold {
			in.ObjectLockLegalHoldStatus = types.ObjectLockLegalHoldStatusOn
			p.LegalHold = true
		}
	}
	return p
}

// Put writes an object with the archive's protection. A locked object
// cannot be written again before its date: a retried write of the same
// content-addressed key, refused, finds the object there and succeeds (on a
// versioned bucket S3 keeps a new version instead).
func (a Config) Put(ctx context.Context, client *s3.Client, in *s3.PutObjectInput, now time.Time) (s3digest.Protection, error) {
	p := a.protect(in, now)
	out, err := client.PutObject(ctx, in)
	var refused smithy.APIError
	if err != nil && a.Locks() && errors.As(err, &refused) && refused.ErrorCode() == "AccessDenied" {
		// Refused because the object is there and locked (and not for a
		// timeout or a KMS refusal): what S3 keeps is the record.
		if _, herr := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: in.Bucket, Key: in.Key}); herr == nil {
			return a.existing(ctx, client, in)
		}
	}
	if err == nil && out.ServerSideEncryption != "" {
		// What S3 says it did, not only what was asked.
		p.Encryption = string(out.ServerSideEncryption)
	}
	return p, err
}

// existing is the protection an object already written has (S3's answer,
// not what was asked the first time).
func (a Config) existing(ctx context.Context, client *s3.Client, in *s3.PutObjectInput) (s3digest.Protection, error) {
	out, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: in.Bucket, Key: in.Key})
	if err != nil {
		return s3digest.Protection{}, err
	}
	p := s3digest.Protection{Encryption: string(out.ServerSideEncryption), KMSKeyID: aws.ToString(out.SSEKMSKeyId), LockMode: string(out.ObjectLockMode),
		LegalHold: out.ObjectLockLegalHoldStatus == types.ObjectLockLegalHoldStatusOn}
	if out.ObjectLockRetainUntilDate != nil {
		p.RetainUntil = out.ObjectLockRetainUntilDate.UTC().Truncate(time.Second).Format(time.RFC3339)
	}
	return p, nil
}
