// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

// Package record turns policy-decision records and admin audit events, in any
// of the gateway dialects policyaudit accepts, into the canonical records of
// the record contract (docs/records.md): one schema per event kind, with
// verdicts, timestamps, correlation IDs and policy versions fixed.
//
// The receiver uses it to validate what a gateway posts (so a bad record is
// refused with a 400 before anything is acknowledged) and the processor uses it
// for records that arrive through any other receiver. Normalising a canonical
// record again yields the same record, so records may pass through both.
package record // import "github.com/policyaudit/policyaudit/internal/record"
