// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package jsonlencodingextension

import (
	"context"
	"runtime"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/policyaudit/policyaudit/internal/pdatajson"
	"github.com/policyaudit/policyaudit/internal/plogutil"
)

// jsonlEncoding implements plog.Marshaler, which is what the file and awss3
// exporters look up on the extension named by their `encoding:` option.
type jsonlEncoding struct{}

var _ plog.Marshaler = (*jsonlEncoding)(nil)

func (*jsonlEncoding) Start(context.Context, component.Host) error { return nil }

func (*jsonlEncoding) Shutdown(context.Context) error { return nil }

// yieldEvery records, MarshalLogs lets other goroutines run.
const yieldEvery = 256

// MarshalLogs writes one JSON line per log record: its body as JSON (an
// object for a map body). Lines are separated, not terminated, by '\n': the
// file exporter ends every write with a newline of its own.
func (*jsonlEncoding) MarshalLogs(ld plog.Logs) ([]byte, error) {
	buf := make([]byte, 0, 512*ld.LogRecordCount())
	n := 0
	plogutil.Each(ld, func(lr plog.LogRecord) {
		if n > 0 {
			buf = append(buf, '\n')
		}
		if n++; n%yieldEvery == 0 {
			// A batch of thousands takes milliseconds to encode: on one core
			// the requests waiting to be acknowledged get their turn.
			runtime.Gosched()
		}
		buf = pdatajson.AppendValue(buf, lr.Body())
	})
	return buf, nil
}
