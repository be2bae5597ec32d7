// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package auditstoreextension

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configtls"

	store "github.com/policyaudit/policyaudit/internal/auditstore"
	"github.com/policyaudit/policyaudit/internal/s3archive"
	"github.com/policyaudit/policyaudit/internal/signing"
)

// Backends of the store.
const (
	BackendSQLite   = "sqlite"   // an embedded file: one collector's trail
	BackendPostgres = "postgres" // a shared database: a fleet's trail
)

// Config of the auditstore extension.
type Config struct {
	// Backend is sqlite (the embedded default) or postgres.
	Backend string `mapstructure:"backend"`
	// Path of the SQLite database file (created if absent).
	Path string `mapstructure:"path"`
	// Synchronous is SQLite's: full (every append on the disk before it is
	// acknowledged: survives a power cut) or normal (survives the process
	// being killed; a power cut can lose the last appends).
	Synchronous string `mapstructure:"synchronous"`
	// Postgres is the shared store (backend postgres).
	Postgres PostgresConfig `mapstructure:"postgres"`
	// RetentionDays keeps records this many days after they were stored;
	// 0 keeps them forever.
	RetentionDays int `mapstructure:"retention_days"`
	// RetentionInterval is how often retention runs (it also runs at start).
	RetentionInterval time.Duration `mapstructure:"retention_interval"`
	// Query is the read-only query API's HTTP server (auth and TLS as on any
	// confighttp server).
	Query confighttp.ServerConfig `mapstructure:"query"`
	// MaxQueryLimit caps the limit parameter of queries.
	MaxQueryLimit int `mapstructure:"max_query_limit"`
	// Console is the read-only web console on the query endpoint.
	Console ConsoleConfig `mapstructure:"console"`
	// Signing anchors the hash chain with Ed25519-signed heads.
	Signing SigningConfig `mapstructure:"signing"`
	// Vault keeps the tokens of the policydecision processor's PII action
	// tokenize, in this store's database (docs/privacy.md).
	Vault VaultConfig `mapstructure:"vault"`
	// Admin is who may search by a person's value, and export or erase
	// what the store holds about a person (the subject endpoints).
	Admin AdminConfig `mapstructure:"admin"`
	// Evidence writes a signed evidence bundle of every period to S3
	// (docs/evidence.md).
	Evidence EvidenceConfig `mapstructure:"evidence"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// PostgresConfig is a shared store in PostgreSQL.
type PostgresConfig struct {
	// DSN is a libpq connection string or URL
	// (${env:POLICYAUDIT_POSTGRES_DSN}); its sslmode says how TLS is used
	// unless tls is set.
	DSN configopaque.String `mapstructure:"dsn"`
	// Chain is this collector's identity in the fleet: the chain it
	// appends to (default: the host name, a pod's name). Two collectors
	// running with one chain fence each other: only the newest appends.
	Chain string `mapstructure:"chain"`
	// MaxConns bounds the connection pool.
	MaxConns int `mapstructure:"max_conns"`
	// TLS, when set, replaces the DSN's TLS settings.
	TLS configoptional.Optional[configtls.ClientConfig] `mapstructure:"tls"`
	_   struct{}
}

// VaultConfig is the token vault. It is on when key is set.
type VaultConfig struct {
	// Key keys the lookup of a person's value (HMAC-SHA256): the vault
	// stores that hash and the token, never the value, so its file alone
	// cannot tell whose token is whose even for a guessed value. Give every
	// collector of a fleet the same key (${env:POLICYAUDIT_VAULT_KEY}),
	// and keep it off the database's volume.
	Key configopaque.String `mapstructure:"key"`
	_   struct{}
}

// AdminConfig is the admin bearer token.
type AdminConfig struct {
	// Token is the bearer token (Authorization: Bearer <token>) of the
	// admin endpoints (/admin/api/v1/subjects/...) and of searches by a
	// person's value; without it those endpoints refuse every caller. It
	// is checked before, and instead of, query.auth's authenticator.
	Token configopaque.String `mapstructure:"token"`
	_     struct{}
}

// EvidenceConfig writes, after each period ends, the evidence bundle of
// the records created in it to an S3 target, with the archive controls
// (encryption, Object Lock), and removes bundles older than RetentionDays.
type EvidenceConfig struct {
	// Target is s3://bucket/prefix; empty: no bundles are written.
	Target string `mapstructure:"target"`
	// Period each bundle covers (aligned on UTC: a day from midnight).
	Period time.Duration `mapstructure:"period"`
	// Delay after a period's end before its bundle is written: records
	// created near the end are still in the collectors' queues (a bundle
	// holds what the store received before it was written).
	Delay time.Duration `mapstructure:"delay"`
	// RetentionDays removes bundles older than this (0: keeps them; a
	// locked bundle stays until its retention ends).
	RetentionDays int `mapstructure:"retention_days"`
	// Region, Endpoint and ForcePathStyle reach the bucket (an
	// S3-compatible store: its endpoint, path style).
	Region         string `mapstructure:"region"`
	Endpoint       string `mapstructure:"endpoint"`
	ForcePathStyle bool   `mapstructure:"force_path_style"`
	// Archive is the encryption and Object Lock of every bundle.
	Archive s3archive.Config `mapstructure:"archive"`
	_       struct{}
}

// bucketAndPrefix splits the target.
func (c EvidenceConfig) bucketAndPrefix() (string, string, bool) {
	rest, ok := strings.CutPrefix(c.Target, "s3://")
	if !ok {
		return "", "", false
	}
	bucket, prefix, _ := strings.Cut(rest, "/")
	return bucket, strings.Trim(prefix, "/"), bucket != ""
}

// minSecretLength is the shortest vault key and admin token accepted.
const minSecretLength = 16

// ConsoleConfig turns the web console on the query endpoint on or off.
type ConsoleConfig struct {
	// Enabled serves the console at the query endpoint's root (default
	// true); off, the endpoint serves the JSON API alone.
	Enabled bool `mapstructure:"enabled"`
	_       struct{}
}

// SigningConfig is the key the store signs its head with, and how often.
// Without a key the chain is still hashed, but a cut prefix, a rewritten
// chain or a rolled-back file cannot be told from an intact one.
type SigningConfig struct {
	// The Ed25519 private key (key_file or key); keep the file off the
	// database's volume: whoever holds it can sign a rewritten chain.
	signing.KeyConfig `mapstructure:",squash"`
	// EveryRecords signs the head after this many new records (0: not by count).
	EveryRecords int64 `mapstructure:"every_records"`
	// Interval signs the head this often when records arrived since.
	Interval time.Duration `mapstructure:"interval"`
	// Required refuses to start without a key, so a missing secret cannot
	// leave the chain unanchored unnoticed.
	Required bool `mapstructure:"required"`
	_        struct{}
}

func createDefaultConfig() *Config {
	query := confighttp.NewDefaultServerConfig()
	query.Endpoint = "127.0.0.1:4321"
	query.ReadHeaderTimeout = 10 * time.Second
	return &Config{
		Backend:           BackendSQLite,
		Path:              "./data/audit.db",
		Synchronous:       store.SyncFull,
		Postgres:          PostgresConfig{MaxConns: 8},
		RetentionDays:     30,
		RetentionInterval: time.Hour,
		Query:             query,
		MaxQueryLimit:     1000,
		Console:           ConsoleConfig{Enabled: true},
		Signing:           SigningConfig{EveryRecords: 10000, Interval: time.Minute},
		Evidence:          EvidenceConfig{Period: 24 * time.Hour, Delay: 15 * time.Minute, Region: "us-east-1"},
	}
}

// Validate fails fast at startup, naming the key at fault.
func (c *Config) Validate() error {
	var errs []error
	switch c.Backend {
	case BackendSQLite:
		if c.Path == "" {
			errs = append(errs, errors.New("path: must not be empty"))
		}
		if c.Synchronous != store.SyncFull && c.Synchronous != store.SyncNormal {
			errs = append(errs, fmt.Errorf("synchronous: %q is not one of full, normal", c.Synchronous))
		}
	case BackendPostgres:
		if c.Postgres.DSN == "" {
			errs = append(errs, errors.New("postgres.dsn: must not be empty with backend postgres"))
		}
		if c.Postgres.MaxConns < 2 {
			errs = append(errs, errors.New("postgres.max_conns: must be at least 2 (appends and queries)"))
		}
	default:
		errs = append(errs, fmt.Errorf("backend: %q is not one of sqlite, postgres", c.Backend))
	}
	if c.RetentionDays < 0 {
		errs = append(errs, errors.New("retention_days: must be 0 (keep forever) or more"))
	}
	if c.RetentionDays > 0 && c.RetentionInterval < time.Minute {
		errs = append(errs, errors.New("retention_interval: must be at least 1m"))
	}
	if c.Query.Endpoint == "" {
		errs = append(errs, errors.New("query.endpoint: must not be empty"))
	}
	if c.MaxQueryLimit <= 0 {
		errs = append(errs, errors.New("max_query_limit: must be positive"))
	}
	if c.Signing.Required && !c.Signing.Set() {
		errs = append(errs, errors.New("signing.key_file or signing.key: required (signing.required is true)"))
	}
	if c.Signing.Ambiguous() {
		errs = append(errs, errors.New("signing.key_file and signing.key: give one"))
	}
	if c.Signing.EveryRecords < 0 {
		errs = append(errs, errors.New("signing.every_records: must be 0 (not by count) or more"))
	}
	if len(c.Vault.Key) > 0 && len(c.Vault.Key) < minSecretLength {
		errs = append(errs, fmt.Errorf("vault.key: at least %d bytes are required", minSecretLength))
	}
	if len(c.Admin.Token) > 0 && len(c.Admin.Token) < minSecretLength {
		errs = append(errs, fmt.Errorf("admin.token: at least %d bytes are required", minSecretLength))
	}
	if c.Evidence.Target != "" {
		if _, _, ok := c.Evidence.bucketAndPrefix(); !ok {
			errs = append(errs, fmt.Errorf("evidence.target: %q is not s3://bucket/prefix", c.Evidence.Target))
		}
		if c.Evidence.Period < time.Second {
			errs = append(errs, errors.New("evidence.period: must be at least 1s"))
		}
		if c.Evidence.Delay < 0 {
			errs = append(errs, errors.New("evidence.delay: must not be negative"))
		}
		if !c.Signing.Set() {
			errs = append(errs, errors.New("signing.key_file or signing.key: required with evidence.target (bundles are signed with the store's key)"))
		}
		errs = append(errs, c.Evidence.Archive.Validate("evidence.archive.")...)
	}
	if c.Evidence.RetentionDays < 0 {
		errs = append(errs, errors.New("evidence.retention_days: must be 0 (keep) or more"))
	}
	if c.Signing.Interval < time.Second {
		errs = append(errs, errors.New("signing.interval: must be at least 1s"))
	}
	return errors.Join(errs...)
}
