package jsonlencodingextension

import (
	"context"

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

// MarshalLogs writes one JSON line per log record: its body as JSON (an
// object for a map body). Lines are separated, not terminated, by '\n': the
// file exporter ends every write with a newline of its own.
func (*jsonlEncoding) MarshalLogs(ld plog.Logs) ([]byte, error) {
	buf := make([]byte, 0, 512*ld.LogRecordCount())
	first := true
	plogutil.Each(ld, func(lr plog.LogRecord) {
		if !first {
			buf = append(buf, '\n')
		}
		first = false
		buf = pdatajson.AppendValue(buf, lr.Body())
	})
	return buf, nil
}
