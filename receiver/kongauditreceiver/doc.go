// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

// Package kongauditreceiver pulls Kong Gateway Enterprise's admin audit log
// (the Admin API's /audit/requests and /audit/objects) and emits each entry
// once as a canonical admin audit event.
//
//go:generate mdatagen metadata.yaml
package kongauditreceiver // import "github.com/policyaudit/policyaudit/receiver/kongauditreceiver"
