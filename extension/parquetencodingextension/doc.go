// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

// Package parquetencodingextension provides parquet_encoding, a logs
// marshaler (the file and awss3 exporters' `encoding:`) that writes OCSF
// events, the bodies the policydecision processor gives with destination
// ocsf, as one Parquet file a batch, with the OCSF schema's types.
//
//go:generate mdatagen metadata.yaml
package parquetencodingextension // import "github.com/policyaudit/policyaudit/extension/parquetencodingextension"
