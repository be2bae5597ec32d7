// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

// Package jsonlencodingextension is an encoding extension that marshals logs
// as JSON lines: one line per log record, holding the record's body as plain
// JSON. The file exporter and the awss3 exporter use it through their
// `encoding:` option to write canonical policy records a SIEM or a SQL engine
// reads directly.
//
//go:generate mdatagen metadata.yaml
package jsonlencodingextension // import "github.com/policyaudit/policyaudit/extension/jsonlencodingextension"
