// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package s3auditexporter

import "os"

// The tests never ask the EC2 metadata service for credentials: their
// traffic stays on 127.0.0.1.
func init() { _ = os.Setenv("AWS_EC2_METADATA_DISABLED", "true") }
