// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

// Package datadoglogsexporter sends logs to Datadog's Logs intake HTTP API
// (v2) and reports a batch sent only once the intake has accepted it (202),
// so a persistent sending queue forgets nothing the intake has not taken:
// contrib's datadog exporter hands logs to an in-memory pipeline and
// reports success before the intake answers.
//
//go:generate mdatagen metadata.yaml
package datadoglogsexporter // import "github.com/policyaudit/policyaudit/exporter/datadoglogsexporter"
