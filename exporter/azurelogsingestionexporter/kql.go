// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package azurelogsingestionexporter

import (
	"fmt"
	"strings"

	"github.com/policyaudit/policyaudit/internal/record"
)

// CorrelationQuery is the KQL that finds a request in the two tables of
// deploy/azure: its decisions and the admin events of the same request, in
// order (policyaudit verify --correlation-id prints it; test/siem checks it
// with the Kusto language service).
func CorrelationQuery(correlationID string) string {
	return fmt.Sprintf("union %s, %s | where CorrelationId == %s | order by TimeGenerated asc",
		Tables[record.KindDecision], Tables[record.KindAdmin], KustoString(correlationID))
}

// KustoString quotes s as a Kusto string literal.
func KustoString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`).Replace(s) + `"`
}
