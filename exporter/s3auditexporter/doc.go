// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

// Package s3auditexporter writes canonical records to S3 as JSON lines, in
// awss3exporter's object layout, and signed digests beside them that list
// every object written, so that a deleted, changed or added object, or a
// missing or forged digest, is named by policyaudit verify s3.
//
//go:generate mdatagen metadata.yaml
package s3auditexporter // import "github.com/policyaudit/policyaudit/exporter/s3auditexporter"
