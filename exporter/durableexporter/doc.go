// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

// Package durableexporter puts the collector's persistent queue, batching
// and retry without a time limit in front of a contrib exporter that gives
// up on its own: awss3 (its upload fails once the AWS SDK's retries run out)
// and elasticsearch (a bulk flush fails after its timeout), both of which
// then drop the data, persistent queue or not.
//
//go:generate mdatagen metadata.yaml
package durableexporter // import "github.com/policyaudit/policyaudit/exporter/durableexporter"
