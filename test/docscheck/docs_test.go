// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

// Package docscheck holds the test that keeps the docs' figures honest.
package docscheck // import "github.com/policyaudit/policyaudit/test/docscheck"
