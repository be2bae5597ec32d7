// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

// Package decisionmetricsconnector counts the canonical records of a logs
// pipeline into OpenTelemetry metrics: policy decisions by policy, policy
// version, verdict, effective verdict and rollout mode, and admin events by
// action, resource type, the policy they concern and outcome. Users and
// correlation IDs are never labels, and the number of series is bounded, so
// a metrics backend can alert on what the gateways decide (a deny rate, a
// shadow policy that would have denied, a policy changed before a spike)
// without the records themselves.
//
//go:generate mdatagen metadata.yaml
package decisionmetricsconnector // import "github.com/policyaudit/policyaudit/connector/decisionmetricsconnector"
