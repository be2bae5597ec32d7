// Package s3archiveexporter is contrib's awss3exporter made durable: the
// collector's persistent queue, batching and retry without a time limit in
// front of awss3's upload, so an S3 outage of any length loses nothing.
//
//go:generate mdatagen metadata.yaml
package s3archiveexporter // import "github.com/policyaudit/policyaudit/exporter/s3archiveexporter"
