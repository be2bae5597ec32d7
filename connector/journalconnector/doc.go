// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

// Package journalconnector writes each request it is given to one durable
// log on disk, once, and acknowledges it when the log is synced; it then
// feeds every pipeline it routes to from that log, each from its own
// cursor, retrying a pipeline's batch until it is taken. It replaces one
// persistent queue per destination (each writing, syncing, reading back and
// decoding every record again) with one write and one sync per request,
// shared by the requests that arrive together.
//
//go:generate mdatagen metadata.yaml
package journalconnector // import "github.com/policyaudit/policyaudit/connector/journalconnector"
