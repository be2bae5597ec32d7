// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

// Package finishprocessor lets the rest of a pipeline finish a batch when
// the caller stops waiting for it, for a grace period. Contrib's kafka
// receiver (v0.141.0) cancels a partition's context when a rebalance moves
// the partition away and, with message_marking.on_error false, pauses that
// partition on the consumer for good when the pipeline then returns the
// cancellation as an error: if the partition later comes back to that
// collector, nothing resumes it. Finishing the export instead (at least
// once: the partition's new owner may send the batch again) returns no
// error, and nothing is paused.
//
//go:generate mdatagen metadata.yaml
package finishprocessor // import "github.com/policyaudit/policyaudit/processor/finishprocessor"
