package policydecisionprocessor

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"go.opentelemetry.io/collector/config/configopaque"
)

// Layouts of the log body.
const (
	LayoutFlat    = "flat"    // the canonical record is the body
	LayoutElastic = "elastic" // the Elastic document of records.md section 4
)

// What on_error does with a record that fails validation.
const (
	OnErrorFlag = "flag" // pass it on with schema_error set
	OnErrorDrop = "drop" // drop it (still counted)
)

// PII modes.
const (
	PIIRedact = "redact" // replace with the placeholder
	PIIHash   = "hash"   // replace with HMAC-SHA256 under hash_key
	PIIBlock  = "block"  // remove the field
)

// Config of the policydecision processor.
type Config struct {
	// Layout of the log body: flat or elastic.
	Layout string `mapstructure:"layout"`
	// OnError is what happens to a record that fails validation: flag or drop.
	OnError string `mapstructure:"on_error"`
	// BodyLogging keeps prompt and completion fields (prompt, messages,
	// completion, ...) under extra. Off by default: prompts are not audit data.
	BodyLogging bool `mapstructure:"body_logging"`
	// PII is the per-field PII policy.
	PII PIIConfig `mapstructure:"pii"`
	// Elastic, Splunk and Datadog are the routing hints set as log attributes.
	Elastic ElasticConfig `mapstructure:"elastic"`
	Splunk  SplunkConfig  `mapstructure:"splunk"`
	Datadog DatadogConfig `mapstructure:"datadog"`
	// Partition names the resource attribute that carries each record's date
	// partition, for the file exporter's group_by and awss3exporter's
	// resource_attrs_to_s3.
	Partition PartitionConfig `mapstructure:"partition"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// PIIConfig maps canonical field paths to a PII mode.
type PIIConfig struct {
	// Fields maps a field of the canonical record, dotted for nested fields
	// (policy_user, actor.id, actor.ip, details, extra.email), to redact, hash
	// or block.
	Fields map[string]string `mapstructure:"fields"`
	// HashKey is the HMAC-SHA256 key of hash. Give every collector the same
	// key (e.g. ${env:POLICYAUDIT_PII_HASH_KEY}) so a user hashes the same way
	// everywhere and across restarts.
	HashKey configopaque.String `mapstructure:"hash_key"`
	// Placeholder replaces redacted values.
	Placeholder string `mapstructure:"placeholder"`
}

// ElasticConfig sets data_stream.* and elasticsearch.document_id.
type ElasticConfig struct {
	Enabled      bool   `mapstructure:"enabled"`
	Namespace    string `mapstructure:"namespace"`
	Dataset      string `mapstructure:"dataset"`
	AdminDataset string `mapstructure:"admin_dataset"`
	_            struct{}
}

// SplunkConfig sets com.splunk.* attributes.
type SplunkConfig struct {
	Enabled         bool   `mapstructure:"enabled"`
	Index           string `mapstructure:"index"`
	Source          string `mapstructure:"source"`
	Sourcetype      string `mapstructure:"sourcetype"`
	AdminSourcetype string `mapstructure:"admin_sourcetype"`
	_               struct{}
}

// DatadogConfig sets ddsource, service and ddtags.
type DatadogConfig struct {
	Enabled bool   `mapstructure:"enabled"`
	Service string `mapstructure:"service"`
	Source  string `mapstructure:"source"`
	_       struct{}
}

// PartitionConfig sets the date-partition resource attribute:
// <prefix>/date=YYYY-MM-DD, or date=YYYY-MM-DD without a prefix.
type PartitionConfig struct {
	Attribute string `mapstructure:"attribute"`
	Prefix    string `mapstructure:"prefix"`
	_         struct{}
}

func createDefaultConfig() *Config {
	return &Config{
		Layout:    LayoutFlat,
		OnError:   OnErrorFlag,
		PII:       PIIConfig{Placeholder: "[REDACTED]"},
		Elastic:   ElasticConfig{Enabled: true, Namespace: "default", Dataset: "policy_gateway.audit", AdminDataset: "policy_gateway.admin"},
		Splunk:    SplunkConfig{Enabled: true, Source: "policy-gateway", Sourcetype: "policy_gateway:decision", AdminSourcetype: "policy_gateway:admin"},
		Datadog:   DatadogConfig{Enabled: true, Service: "policy-gateway", Source: "policy-gateway"},
		Partition: PartitionConfig{Attribute: "policyaudit.partition"},
	}
}

// protectedFields cannot be redacted, hashed or blocked: destinations route,
// de-duplicate and join on them.
var protectedFields = map[string]bool{
	"schema_version": true, "event_kind": true, "event_id": true, "created_at": true,
	"correlation_id": true, "decision": true, "effective_decision": true, "rollout_mode": true,
	"enforced": true, "reason_code": true, "policy_id": true, "policy_version": true,
	"action": true, "outcome": true, "schema_error": true,
}

// Validate fails fast at startup, naming the key at fault.
func (c *Config) Validate() error {
	var errs []error
	if c.Layout != LayoutFlat && c.Layout != LayoutElastic {
		errs = append(errs, fmt.Errorf("layout: %q is not one of flat, elastic", c.Layout))
	}
	if c.OnError != OnErrorFlag && c.OnError != OnErrorDrop {
		errs = append(errs, fmt.Errorf("on_error: %q is not one of flag, drop", c.OnError))
	}
	errs = append(errs, c.PII.validate()...)
	if c.Elastic.Enabled || c.Layout == LayoutElastic {
		for key, v := range map[string]string{"elastic.namespace": c.Elastic.Namespace, "elastic.dataset": c.Elastic.Dataset, "elastic.admin_dataset": c.Elastic.AdminDataset} {
			if err := validDataStreamPart(v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", key, err))
			}
		}
	}
	if c.Splunk.Enabled && (c.Splunk.Sourcetype == "" || c.Splunk.AdminSourcetype == "") {
		errs = append(errs, errors.New("splunk.sourcetype and splunk.admin_sourcetype: must not be empty while splunk.enabled"))
	}
	if c.Datadog.Enabled && (c.Datadog.Service == "" || c.Datadog.Source == "") {
		errs = append(errs, errors.New("datadog.service and datadog.source: must not be empty while datadog.enabled"))
	}
	if c.Partition.Attribute == "" {
		errs = append(errs, errors.New("partition.attribute: must not be empty"))
	}
	sortErrors(errs)
	return errors.Join(errs...)
}

func (p *PIIConfig) validate() []error {
	var errs []error
	usesHash := false
	for path, mode := range p.Fields {
		switch {
		case path == "" || strings.HasPrefix(path, ".") || strings.HasSuffix(path, ".") || strings.Contains(path, ".."):
			errs = append(errs, fmt.Errorf("pii.fields: %q is not a field path", path))
		case protectedFields[path]:
			errs = append(errs, fmt.Errorf("pii.fields.%s: a required field cannot be redacted, hashed or blocked", path))
		}
		switch mode {
		case PIIHash:
			usesHash = true
		case PIIRedact, PIIBlock:
		default:
			errs = append(errs, fmt.Errorf("pii.fields.%s: %q is not one of redact, hash, block", path, mode))
		}
	}
	if usesHash && len(p.HashKey) < 16 {
		errs = append(errs, errors.New("pii.hash_key: at least 16 bytes are required when a field uses hash"))
	}
	if p.Placeholder == "" {
		errs = append(errs, errors.New("pii.placeholder: must not be empty"))
	}
	return errs
}

// validDataStreamPart applies Elasticsearch's rules for the dataset and
// namespace of a data stream name (type-dataset-namespace).
func validDataStreamPart(s string) error {
	switch {
	case s == "":
		return errors.New("must not be empty")
	case len(s) > 100:
		return errors.New("must be at most 100 bytes")
	case strings.ToLower(s) != s:
		return fmt.Errorf("%q must be lower case", s)
	case strings.ContainsAny(s, "-\\/*?\"<>| ,#:"):
		return fmt.Errorf("%q must not contain '-' or any of \\/*?\"<>|,#: or spaces", s)
	}
	return nil
}

func sortErrors(errs []error) {
	sort.Slice(errs, func(i, j int) bool { return errs[i].Error() < errs[j].Error() })
}
