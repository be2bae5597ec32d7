// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package parquetencodingextension

import (
	"bytes"
	"context"
	"fmt"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/policyaudit/policyaudit/internal/ocsf"
	"github.com/policyaudit/policyaudit/internal/pdatajson"
	"github.com/policyaudit/policyaudit/internal/plogutil"
)

// eventSchema is the Parquet schema of ocsf.EventRow (its comment says how
// OCSF's types become columns), under the root name "event" the files had
// when the extension kept a copy of the row types.
var eventSchema = parquet.NewSchema("event", parquet.SchemaOf(new(ocsf.EventRow)))

// parquetEncoding implements plog.Marshaler, which is what the file and
// awss3 exporters look up on the extension named by their `encoding:`.
type parquetEncoding struct {
	codec compress.Codec
}

var _ plog.Marshaler = (*parquetEncoding)(nil)

func newParquetEncoding(cfg *Config) *parquetEncoding {
	codecs := map[string]compress.Codec{
		"zstd": &parquet.Zstd, "snappy": &parquet.Snappy, "gzip": &parquet.Gzip, "none": &parquet.Uncompressed,
	}
	return &parquetEncoding{codec: codecs[cfg.Compression]}
}

func (*parquetEncoding) Start(context.Context, component.Host) error { return nil }

func (*parquetEncoding) Shutdown(context.Context) error { return nil }

// MarshalLogs writes the batch's OCSF events as one Parquet file. A body
// that is not an OCSF event of the schema (a pipeline without destination
// ocsf) fails the batch as a permanent error naming what did not fit: the
// exporter must not retry what can never be written, nor drop a field.
func (e *parquetEncoding) MarshalLogs(ld plog.Logs) (_ []byte, err error) {
	defer func() {
		// parquet-go's generic writer panicked on this schema's nested
		// lists (v0.32.0); the reflective one below does not, and no batch
		// may take the collector down if another path ever does.
		if r := recover(); r != nil {
			err = consumererror.NewPermanent(fmt.Errorf("parquet: %v", r))
		}
	}()
	rows := make([]ocsf.EventRow, ld.LogRecordCount())
	n := 0
	plogutil.Each(ld, func(lr plog.LogRecord) {
		if err != nil {
			return
		}
		// The body as the exporter holds it, read into the row type the
		// mapping filled: no JSON text in between.
		row := &rows[n]
		if derr := ocsf.DecodeBody(lr.Body(), row); derr != nil {
			err = fmt.Errorf("log record %d is not an OCSF event of destination ocsf: %w", n, derr)
			return
		}
		// unmapped is free content, which Parquet holds as a JSON column.
		if row.Unmapped != (pcommon.Map{}) {
			row.UnmappedJSON = pdatajson.AppendMap(nil, row.Unmapped)
		}
		n++
	})
	if err != nil {
		return nil, consumererror.NewPermanent(err)
	}
	var out bytes.Buffer
	w := parquet.NewWriter(&out, eventSchema, parquet.Compression(e.codec))
	for i := range rows {
		if err := w.Write(&rows[i]); err != nil {
			return nil, err
		}
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}
