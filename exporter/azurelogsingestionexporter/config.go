// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package azurelogsingestionexporter

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/config/configtls"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
)

// Authentication types.
const (
	AuthClientSecret     = "client_secret"
	AuthManagedIdentity  = "managed_identity"
	AuthWorkloadIdentity = "workload_identity"
)

// Clouds.
const (
	CloudPublic       = "public"
	CloudUSGovernment = "usgovernment"
	CloudChina        = "china"
)

// Config is the azure_logs_ingestion exporter's configuration.
type Config struct {
	exporterhelper.TimeoutConfig `mapstructure:",squash"`
	QueueConfig                  exporterhelper.QueueBatchConfig `mapstructure:"sending_queue"`
	RetryConfig                  configretry.BackOffConfig       `mapstructure:"retry_on_failure"`

	// Endpoint is the DCR's logs ingestion endpoint (a DCR of kind Direct)
	// or a data collection endpoint: https://<name>.<region>.ingest.monitor.azure.com.
	Endpoint string `mapstructure:"endpoint"`
	// RuleID is the DCR's immutable ID (dcr-...).
	RuleID string `mapstructure:"rule_id"`
	// DecisionStream and AdminStream are the DCR's streams for the two
	// event kinds (deploy/azure declares Custom-PolicyAuditDecisions and
	// Custom-PolicyAuditAdmin).
	DecisionStream string `mapstructure:"decision_stream"`
	AdminStream    string `mapstructure:"admin_stream"`

	Auth AuthConfig `mapstructure:"auth"`
	// Cloud is public, usgovernment or china: the Entra ID authority and
	// the token's audience (https://monitor.azure.com and its sovereign
	// counterparts).
	Cloud string `mapstructure:"cloud"`
	// AuthorityHost replaces the cloud's Entra ID authority
	// (https://login.microsoftonline.com/ for public), for a private
	// authority.
	AuthorityHost string `mapstructure:"authority_host"`
	// TLS is the client TLS configuration (e.g. ca_file for a proxy's CA).
	TLS configtls.ClientConfig `mapstructure:"tls"`
}

// AuthConfig chooses the Entra ID credential.
type AuthConfig struct {
	// Type is client_secret, managed_identity or workload_identity.
	Type         string              `mapstructure:"type"`
	TenantID     string              `mapstructure:"tenant_id"`
	ClientID     string              `mapstructure:"client_id"`
	ClientSecret configopaque.String `mapstructure:"client_secret"`
}

func createDefaultConfig() *Config {
	queue := exporterhelper.NewDefaultQueueConfig()
	retry := configretry.NewDefaultBackOffConfig()
	retry.MaxElapsedTime = 0 // an audit trail waits out an outage
	return &Config{
		TimeoutConfig:  exporterhelper.NewDefaultTimeoutConfig(),
		QueueConfig:    queue,
		RetryConfig:    retry,
		DecisionStream: "Custom-PolicyAuditDecisions",
		AdminStream:    "Custom-PolicyAuditAdmin",
		Auth:           AuthConfig{Type: AuthClientSecret},
		Cloud:          CloudPublic,
	}
}

// Validate fails fast, naming the key at fault.
func (c *Config) Validate() error {
	var errs []error
	if u, err := url.Parse(c.Endpoint); err != nil || u.Scheme != "https" || u.Host == "" {
		errs = append(errs, fmt.Errorf("endpoint: %q is not an https URL (the DCR's logs ingestion endpoint)", c.Endpoint))
	}
	if c.RuleID == "" {
		errs = append(errs, errors.New("rule_id: must be set (the DCR's immutable ID, dcr-...)"))
	}
	for _, s := range [][2]string{{"decision_stream", c.DecisionStream}, {"admin_stream", c.AdminStream}} {
		if !strings.HasPrefix(s[1], "Custom-") {
			errs = append(errs, fmt.Errorf("%s: %q is not a custom stream (Custom-<name>)", s[0], s[1]))
		}
	}
	if !slices.Contains([]string{CloudPublic, CloudUSGovernment, CloudChina}, c.Cloud) {
		errs = append(errs, fmt.Errorf("cloud: %q is not one of public, usgovernment, china", c.Cloud))
	}
	if c.AuthorityHost != "" {
		if u, err := url.Parse(c.AuthorityHost); err != nil || u.Scheme != "https" || u.Host == "" {
			errs = append(errs, fmt.Errorf("authority_host: %q is not an https URL", c.AuthorityHost))
		}
	}
	switch c.Auth.Type {
	case AuthClientSecret:
		for _, kv := range [][2]string{{"auth::tenant_id", c.Auth.TenantID}, {"auth::client_id", c.Auth.ClientID}, {"auth::client_secret", string(c.Auth.ClientSecret)}} {
			if kv[1] == "" {
				errs = append(errs, fmt.Errorf("%s: must be set for auth type client_secret", kv[0]))
			}
		}
	case AuthManagedIdentity, AuthWorkloadIdentity:
	default:
		errs = append(errs, fmt.Errorf("auth::type: %q is not one of client_secret, managed_identity, workload_identity", c.Auth.Type))
	}
	return errors.Join(errs...)
}
