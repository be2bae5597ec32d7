// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

// Package azurelogsingestionexporter sends canonical policy records to
// Microsoft Sentinel / Azure Monitor Logs through the Logs Ingestion API: a
// data collection rule's stream per event kind, one typed column per
// canonical field, batches under the API's 1 MB, gzip, and the collector's
// queue and retry around it.
//
//go:generate mdatagen metadata.yaml
package azurelogsingestionexporter // import "github.com/policyaudit/policyaudit/exporter/azurelogsingestionexporter"
