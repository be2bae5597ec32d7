// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

// Package policygatewayreceiver receives policy-decision records and admin
// audit events from LLM gateways over HTTP (JSON, JSON arrays, NDJSON, and the
// OPA decision-log API) and turns each record into one canonical OTLP log
// record. A request is validated as a whole: a bad record refuses the request
// with a 400 naming it, so a client's retry never duplicates.
//
//go:generate mdatagen metadata.yaml
package policygatewayreceiver // import "github.com/policyaudit/policyaudit/receiver/policygatewayreceiver"
