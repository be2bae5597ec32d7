// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

// Package plogutil walks the log records of plog.Logs and gathers them again.
package plogutil // import "github.com/policyaudit/policyaudit/internal/plogutil"
import "go.opentelemetry.io/collector/pdata/plog"

// Each calls fn for every log record of ld, in order.
func Each(ld plog.Logs, fn func(plog.LogRecord)) {
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		sls := rls.At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				fn(lrs.At(k))
			}
		}
	}
}

// LogsOf puts copies of log records into one plog.Logs, under one resource
// and scope: what an exporter retries of a batch the destination took in
// part.
func LogsOf(records []plog.LogRecord) plog.Logs {
	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	lrs.EnsureCapacity(len(records))
	for _, lr := range records {
		lr.CopyTo(lrs.AppendEmpty())
	}
	return ld
}
