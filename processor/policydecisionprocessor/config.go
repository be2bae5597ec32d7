// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package policydecisionprocessor

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configopaque"

	"github.com/policyaudit/policyaudit/internal/record"
)

// Destinations the records are shaped for (records.md section 4), named after
// the exporter that sends them there. One processor instance serves one
// destination: each exporter reads different attributes, and splunk_hec and
// datadog turn every attribute they are given into an indexed field or a log
// attribute, so a shape meant for one would pollute the others.
const (
	DestinationOTLP          = "otlp"          // canonical body, OTel attributes, date partition (file, S3, OTLP, audit store)
	DestinationElasticsearch = "elasticsearch" // the Elastic document as body, data stream and document ID attributes
	DestinationSplunkHEC     = "splunk_hec"    // canonical body, only the indexed fields and com.splunk.* as attributes
	DestinationDatadog       = "datadog"       // canonical body, the canonical fields, source, service and tags as attributes
	DestinationOCSF          = "ocsf"          // the OCSF 1.8.0 event as body, its class and type and the OTel attributes, date partition
)

var destinations = []string{DestinationOTLP, DestinationElasticsearch, DestinationSplunkHEC, DestinationDatadog, DestinationOCSF}

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
	// PIITokenize replaces the value with its random token from the audit
	// store's vault (pii.vault): erasing the vault entry leaves every copy
	// about nobody.
	PIITokenize = "tokenize"
)

// Config of the policydecision processor.
type Config struct {
	// Destination is the exporter the records are shaped for: otlp,
	// elasticsearch, splunk_hec, datadog, or ocsf (OCSF events, for any
	// exporter: S3 as JSON lines or Parquet, Splunk HEC).
	Destination string `mapstructure:"destination"`
	// OnError is what happens to a record that fails validation: flag or drop.
	OnError string `mapstructure:"on_error"`
	// BodyLogging keeps prompt and completion fields (prompt, messages,
	// completion, ...) under extra. Off by default: prompts are not audit data.
	BodyLogging bool `mapstructure:"body_logging"`
	// PII is the per-field PII policy.
	PII PIIConfig `mapstructure:"pii"`
	// IDKey keys the event_id and correlation_id derived for records that
	// carry none (HMAC-SHA256, UUIDv8), so an exported record does not let
	// anyone confirm a guessed value of a field the PII policy hid. Required
	// with pii.fields; give every pipeline and collector the same key (e.g.
	// ${env:POLICYAUDIT_ID_KEY}) so a record gets the same IDs everywhere.
	IDKey configopaque.String `mapstructure:"id_key"`
	// Elastic, Splunk and Datadog are the settings of those destinations.
	Elastic ElasticConfig `mapstructure:"elastic"`
	Splunk  SplunkConfig  `mapstructure:"splunk"`
	Datadog DatadogConfig `mapstructure:"datadog"`
	// OCSF is the setting of destination ocsf.
	OCSF OCSFConfig `mapstructure:"ocsf"`
	// Partition names the resource attribute that carries each record's date
	// partition, for the file exporter's group_by and awss3exporter's
	// resource_attrs_to_s3 (destination otlp).
	Partition PartitionConfig `mapstructure:"partition"`
	// OrderKey groups the records of one correlation ID under one resource,
	// for an exporter that keys its messages by resource attributes.
	OrderKey OrderKeyConfig `mapstructure:"order_key"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// PIIConfig maps canonical field paths to a PII mode.
type PIIConfig struct {
	// Fields maps a field of the canonical record, dotted for nested fields
	// (policy_user, actor.id, actor.ip, details, extra.email), to redact,
	// hash, block or tokenize.
	Fields map[string]string `mapstructure:"fields"`
	// HashKey is the HMAC-SHA256 key of hash. Give every collector the same
	// key (e.g. ${env:POLICYAUDIT_PII_HASH_KEY}) so a user hashes the same way
	// everywhere and across restarts.
	HashKey configopaque.String `mapstructure:"hash_key"`
	// Placeholder replaces redacted values.
	Placeholder string `mapstructure:"placeholder"`
	// Vault is the auditstore extension whose vault (its vault.key set)
	// holds the tokens of tokenize: required when a field uses tokenize.
	Vault *component.ID `mapstructure:"vault"`
}

// ElasticConfig names the data streams.
type ElasticConfig struct {
	Namespace    string `mapstructure:"namespace"`
	Dataset      string `mapstructure:"dataset"`
	AdminDataset string `mapstructure:"admin_dataset"`
	_            struct{}
}

// SplunkConfig sets the com.splunk.* attributes.
type SplunkConfig struct {
	Index           string `mapstructure:"index"`
	Source          string `mapstructure:"source"`
	Sourcetype      string `mapstructure:"sourcetype"`
	AdminSourcetype string `mapstructure:"admin_sourcetype"`
	_               struct{}
}

// DatadogConfig sets the log source and service.
type DatadogConfig struct {
	Service string `mapstructure:"service"`
	Source  string `mapstructure:"source"`
	_       struct{}
}

// OCSFConfig sets what destination ocsf writes besides one event a record.
type OCSFConfig struct {
	// Findings adds a Detection Finding (class 2004) for every enforced deny
	// or escalation, for SIEM content that expects alerts as findings.
	Findings bool `mapstructure:"findings"`
	// SplunkHEC shapes the attributes for the splunk_hec exporter: only
	// the class and type UIDs as indexed fields, and the sourcetype
	// ocsf:<class> (ocsf:api_activity, …), the prefix Splunk's OCSF-CIM
	// add-on reads; index and source from splunk.index and splunk.source.
	SplunkHEC bool `mapstructure:"splunk_hec"`
	_         struct{}
}

// PartitionConfig sets the date-partition resource attribute:
// <prefix>/date=YYYY-MM-DD, or date=YYYY-MM-DD without a prefix.
type PartitionConfig struct {
	Attribute string `mapstructure:"attribute"`
	Prefix    string `mapstructure:"prefix"`
	// Layout is how the date is written: date (date=YYYY-MM-DD, Athena's
	// and Hive's convention) or security_lake (eventDay=YYYYMMDD, Amazon
	// Security Lake's custom-source layout, with a prefix of
	// ext/<source>/region=<region>/accountId=<account>).
	Layout string `mapstructure:"layout"`
	_      struct{}
}

// OrderKeyConfig puts each record under a resource whose attribute holds
// a bucket of its correlation ID (FNV-1a, modulo buckets). Every record of
// one request then shares a resource, so the kafka exporter's
// partition_logs_by_resource_attributes sends them to one partition, in
// order, while a batch still becomes at most buckets resources (not one per
// request). It replaces the date partition (a request crossing midnight
// keeps one key): for a pipeline to Kafka, whose consumers partition again.
// Off with buckets 0.
type OrderKeyConfig struct {
	Attribute string `mapstructure:"attribute"`
	Buckets   int    `mapstructure:"buckets"`
	_         struct{}
}

// maxOrderKeyBuckets bounds the resources a batch can be split into.
const maxOrderKeyBuckets = 4096

// Partition layouts.
const (
	LayoutDate         = "date"
	LayoutSecurityLake = "security_lake"
)

// The resource attributes an instance writes by default.
const (
	defaultPartitionAttribute = "policyaudit.partition"
	defaultOrderKeyAttribute  = "policyaudit.order_key"
)

func createDefaultConfig() *Config {
	return &Config{
		Destination: DestinationOTLP,
		OnError:     OnErrorFlag,
		PII:         PIIConfig{Placeholder: "[REDACTED]"},
		Elastic:     ElasticConfig{Namespace: "default", Dataset: "policy_gateway.audit", AdminDataset: "policy_gateway.admin"},
		Splunk:      SplunkConfig{Source: "policy-gateway", Sourcetype: "policy_gateway:decision", AdminSourcetype: "policy_gateway:admin"},
		Datadog:     DatadogConfig{Service: "policy-gateway", Source: "policy-gateway"},
		Partition:   PartitionConfig{Attribute: defaultPartitionAttribute, Layout: LayoutDate},
		OrderKey:    OrderKeyConfig{Attribute: defaultOrderKeyAttribute},
	}
}

// protectedFields cannot be redacted, hashed, blocked or tokenised: destinations route,
// de-duplicate and join on them.
var protectedFields = record.FieldNamesWith(record.RoleRouting)

// Validate fails fast at startup, naming the key at fault.
func (c *Config) Validate() error {
	var errs []error
	if !slices.Contains(destinations, c.Destination) {
		errs = append(errs, fmt.Errorf("destination: %q is not one of %s", c.Destination, strings.Join(destinations, ", ")))
	}
	if c.OnError != OnErrorFlag && c.OnError != OnErrorDrop {
		errs = append(errs, fmt.Errorf("on_error: %q is not one of flag, drop", c.OnError))
	}
	errs = append(errs, c.PII.validate()...)
	errs = append(errs, c.validateIDKey()...)
	if c.Destination == DestinationElasticsearch {
		for key, v := range map[string]string{"elastic.namespace": c.Elastic.Namespace, "elastic.dataset": c.Elastic.Dataset, "elastic.admin_dataset": c.Elastic.AdminDataset} {
			if err := validDataStreamPart(v); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", key, err))
			}
		}
	}
	if c.Destination == DestinationSplunkHEC && (c.Splunk.Sourcetype == "" || c.Splunk.AdminSourcetype == "") {
		errs = append(errs, errors.New("splunk.sourcetype and splunk.admin_sourcetype: must not be empty for destination splunk_hec"))
	}
	if c.Destination == DestinationDatadog && (c.Datadog.Service == "" || c.Datadog.Source == "") {
		errs = append(errs, errors.New("datadog.service and datadog.source: must not be empty for destination datadog"))
	}
	if c.OrderKey.Buckets < 0 || c.OrderKey.Buckets > maxOrderKeyBuckets {
		errs = append(errs, fmt.Errorf("order_key.buckets: must be 0 (off) to %d", maxOrderKeyBuckets))
	}
	if c.OrderKey.Buckets > 0 && c.OrderKey.Attribute == "" {
		errs = append(errs, errors.New("order_key.attribute: must not be empty with order_key.buckets"))
	}
	if c.Partition.Layout != LayoutDate && c.Partition.Layout != LayoutSecurityLake {
		errs = append(errs, fmt.Errorf("partition.layout: %q is not one of %s, %s", c.Partition.Layout, LayoutDate, LayoutSecurityLake))
	}
	if (c.Destination == DestinationOTLP || c.Destination == DestinationOCSF) && c.Partition.Attribute == "" {
		errs = append(errs, errors.New("partition.attribute: must not be empty"))
	}
	sortErrors(errs)
	return errors.Join(errs...)
}

// validateIDKey refuses PII rules without an identifier key: unkeyed derived
// IDs are a hash of the record's content, raw identities included, so anyone
// holding one exported record could confirm a guessed user ID with them.
func (c *Config) validateIDKey() []error {
	if len(c.IDKey) > 0 && len(c.IDKey) < record.MinIDKeyLength {
		return []error{fmt.Errorf("id_key: at least %d bytes are required", record.MinIDKeyLength)}
	}
	if len(c.IDKey) == 0 && len(c.PII.Fields) > 0 {
		fields := make([]string, 0, len(c.PII.Fields))
		for path := range c.PII.Fields {
			fields = append(fields, "pii.fields."+path)
		}
		sort.Strings(fields)
		return []error{fmt.Errorf("id_key: required when %s are set: without it, a derived event_id or correlation_id would confirm a guessed value of those fields (set id_key, e.g. ${env:POLICYAUDIT_ID_KEY})", strings.Join(fields, ", "))}
	}
	return nil
}

func (p *PIIConfig) validate() []error {
	var errs []error
	usesHash, usesTokens := false, false
	for path, mode := range p.Fields {
		switch {
		case path == "" || strings.HasPrefix(path, ".") || strings.HasSuffix(path, ".") || strings.Contains(path, ".."):
			errs = append(errs, fmt.Errorf("pii.fields: %q is not a field path", path))
		case protectedFields[path]:
			errs = append(errs, fmt.Errorf("pii.fields.%s: a required field cannot be redacted, hashed, blocked or tokenised", path))
		}
		switch mode {
		case PIIHash:
			usesHash = true
		case PIITokenize:
			usesTokens = true
		case PIIRedact, PIIBlock:
		default:
			errs = append(errs, fmt.Errorf("pii.fields.%s: %q is not one of redact, hash, block, tokenize", path, mode))
		}
	}
	if usesTokens && p.Vault == nil {
		errs = append(errs, errors.New("pii.vault: required when a field uses tokenize (the auditstore extension whose vault.key is set, e.g. vault: auditstore)"))
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
