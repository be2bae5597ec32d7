// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package s3auditexporter

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/policyaudit/policyaudit/internal/signing"
)

// Config of the s3audit exporter.
type Config struct {
	// Bucket the objects and digests are written to.
	Bucket string `mapstructure:"bucket"`
	// Region of the bucket.
	Region string `mapstructure:"region"`
	// Endpoint overrides the S3 endpoint (an S3-compatible store).
	Endpoint string `mapstructure:"endpoint"`
	// ForcePathStyle addresses the bucket in the path, not the host name.
	ForcePathStyle bool `mapstructure:"force_path_style"`
	// PrefixAttribute is the resource attribute holding each record's key
	// prefix, <prefix>/date=YYYY-MM-DD (the policydecision processor's
	// partition attribute); Prefix is used when a resource has none.
	PrefixAttribute string `mapstructure:"prefix_attribute"`
	Prefix          string `mapstructure:"prefix"`
	// FilePrefix starts each object's name, as awss3exporter's file_prefix.
	FilePrefix string `mapstructure:"file_prefix"`
	// Encoding names an encoding extension (a logs marshaler, e.g.
	// parquet_encoding) that writes each object instead of gzip JSON lines;
	// EncodingFileExtension ends its key (e.g. parquet).
	Encoding              *component.ID `mapstructure:"encoding"`
	EncodingFileExtension string        `mapstructure:"encoding_file_extension"`
	// Digest configures the signed digests.
	Digest DigestConfig `mapstructure:"digest"`
	// Archive asks S3 to encrypt and lock every object written (data,
	// digests, signatures); the digests record it and verify s3 checks it.
	Archive ArchiveConfig `mapstructure:"archive"`

	TimeoutConfig exporterhelper.TimeoutConfig    `mapstructure:",squash"`
	QueueConfig   exporterhelper.QueueBatchConfig `mapstructure:"sending_queue"`
	RetryConfig   configretry.BackOffConfig       `mapstructure:"retry_on_failure"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// DigestConfig configures the digests.
type DigestConfig struct {
	// Prefix is where digests are written: <prefix>/date=YYYY-MM-DD/...
	Prefix string `mapstructure:"prefix"`
	// Interval between digests; one is written even when nothing was.
	Interval time.Duration `mapstructure:"interval"`
	// The Ed25519 private key that signs them (key_file or key): required.
	signing.KeyConfig `mapstructure:",squash"`
	// Directory keeps what was written since the last digest and the
	// chain's head, so a restart continues the chain and lists every object
	// (a persistent volume, like the sending queue's).
	Directory string `mapstructure:"directory"`
	// AuditStore is the query endpoint of the collector's audit store
	// (http://host:port, auth and TLS as on any confighttp client): each
	// digest then carries the store's newest signed head, a copy the host
	// cannot rewrite. No endpoint: digests carry none.
	AuditStore confighttp.ClientConfig `mapstructure:"audit_store"`
	_          struct{}
}

func createDefaultConfig() *Config {
	retry := configretry.NewDefaultBackOffConfig()
	// An audit trail does not give up on an outage.
	retry.MaxElapsedTime = 0
	return &Config{
		Region:          "us-east-1",
		PrefixAttribute: "policyaudit.s3_prefix",
		FilePrefix:      "part-",
		Digest:          DigestConfig{Interval: 5 * time.Minute, AuditStore: auditStoreClient()},
		TimeoutConfig:   exporterhelper.NewDefaultTimeoutConfig(),
		QueueConfig:     exporterhelper.NewDefaultQueueConfig(),
		RetryConfig:     retry,
	}
}

// auditStoreClient is the default client of the audit store's query API:
// no endpoint (off), and a short timeout, since a digest waits for it.
func auditStoreClient() confighttp.ClientConfig {
	c := confighttp.NewDefaultClientConfig()
	c.Timeout = 10 * time.Second
	return c
}

// Validate fails fast at startup, naming the key at fault.
func (c *Config) Validate() error {
	var errs []error
	if c.Bucket == "" {
		errs = append(errs, errors.New("bucket: must not be empty"))
	}
	if c.PrefixAttribute == "" && c.Prefix == "" {
		errs = append(errs, errors.New("prefix_attribute or prefix: one must be set"))
	}
	if c.Encoding != nil && c.EncodingFileExtension == "" {
		errs = append(errs, errors.New("encoding_file_extension: required with encoding (e.g. parquet)"))
	}
	if c.Digest.Prefix == "" {
		errs = append(errs, errors.New("digest.prefix: must not be empty (e.g. policy-audit/_digest)"))
	}
	if c.Digest.Interval < time.Second {
		errs = append(errs, errors.New("digest.interval: must be at least 1s"))
	}
	if !c.Digest.Set() {
		errs = append(errs, errors.New("digest.key_file or digest.key: required (the digests are signed)"))
	}
	if c.Digest.Ambiguous() {
		errs = append(errs, errors.New("digest.key_file and digest.key: give one"))
	}
	errs = append(errs, c.Archive.Validate("archive.")...)
	if c.Digest.Directory == "" {
		errs = append(errs, errors.New("digest.directory: must not be empty"))
	}
	if e := c.Digest.AuditStore.Endpoint; e != "" && !strings.HasPrefix(e, "http://") && !strings.HasPrefix(e, "https://") {
		errs = append(errs, fmt.Errorf("digest.audit_store.endpoint: %q is not an http:// or https:// URL", e))
	}
	return errors.Join(errs...)
}
