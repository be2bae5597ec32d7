// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

// Package queuestorageextension is a storage extension for the exporters'
// persistent queues: keys and small values in a bbolt database, as
// file_storage keeps them, and each large value (a queued request) in a
// file of its own, so a request is written to disk once rather than again
// with every change to the queue's indexes.
//
//go:generate mdatagen metadata.yaml
package queuestorageextension // import "github.com/policyaudit/policyaudit/extension/queuestorageextension"
