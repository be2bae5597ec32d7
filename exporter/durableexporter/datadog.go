// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package durableexporter

import (
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
)

// Datadog's logs intake accepts a log dated at most 18 hours in the past
// and 2 hours in the future, and silently drops the others (Logs API, "Send
// logs"). The Datadog exporter dates a log by its record's timestamp
// (created_at): a record that waited out a long outage in the queue, or
// that a gateway with a wrong clock stamped, would be dropped. An hour's
// margin on each side covers the exporter's own hand-off and clock skew.
const (
	datadogMaxAge   = 17 * time.Hour
	datadogMaxAhead = time.Hour
)

// undateForDatadog removes the timestamp of each record Datadog would drop
// for its date, just before the batch is handed to the exporter: the intake
// then dates it on arrival, and the record keeps its created_at among its
// attributes (so it is found by correlation_id, and its own time is known).
func undateForDatadog(ld plog.Logs, now time.Time) {
	oldest, newest := now.Add(-datadogMaxAge), now.Add(datadogMaxAhead)
	for _, rl := range ld.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				if ts := lr.Timestamp(); ts != 0 && (ts.AsTime().Before(oldest) || ts.AsTime().After(newest)) {
					lr.SetTimestamp(0)
				}
			}
		}
	}
}
