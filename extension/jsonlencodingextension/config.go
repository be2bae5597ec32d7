// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package jsonlencodingextension

// Config has no settings: a line is a log record's body, nothing more. Fields
// that belong in a line belong in the body; the policydecision processor puts
// them there.
type Config struct{}
