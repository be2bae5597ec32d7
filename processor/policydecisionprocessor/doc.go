// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

// Package policydecisionprocessor normalises policy-decision records and admin
// audit events from any receiver into the canonical records of the record
// contract, applies the PII policy, and sets the routing hints each
// destination needs (Elastic data stream, Splunk sourcetype and index, Datadog
// source and tags, and a date partition for file and S3 destinations).
//
//go:generate mdatagen metadata.yaml
package policydecisionprocessor // import "github.com/policyaudit/policyaudit/processor/policydecisionprocessor"
