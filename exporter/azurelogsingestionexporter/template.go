// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package azurelogsingestionexporter

import "github.com/policyaudit/policyaudit/internal/record"

// Tables are the Log Analytics tables deploy/azure creates, by the stream
// that flows into each.
var Tables = map[record.Kind]string{
	record.KindDecision: "PolicyAuditDecisions_CL",
	record.KindAdmin:    "PolicyAuditAdmin_CL",
}
