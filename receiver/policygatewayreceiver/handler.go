// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package policygatewayreceiver

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"time"

	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/policyaudit/policyaudit/internal/dialect"
	"github.com/policyaudit/policyaudit/internal/jsonbody"
	"github.com/policyaudit/policyaudit/internal/record"
	"github.com/policyaudit/policyaudit/receiver/policygatewayreceiver/internal/metadata"
)

// errorBody is the JSON answer to a refused request. Line (NDJSON, 1-based)
// or Index (JSON array, 0-based) and Field name the record and field at fault.
type errorBody struct {
	Error    string `json:"error"`
	Line     int    `json:"line,omitempty"`
	Index    *int   `json:"index,omitempty"`
	Field    string `json:"field,omitempty"`
	Reason   string `json:"reason,omitempty"`
	Accepted int    `json:"accepted"`
}

func (r *policyGatewayReceiver) handler(d *dialect.Dialect) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			writeError(w, http.StatusMethodNotAllowed, errorBody{Error: req.Method + " is not allowed; POST records"})
			return
		}
		ndjson, ok := acceptedContentType(req.Header.Get("Content-Type"))
		if !ok {
			writeError(w, http.StatusUnsupportedMediaType, errorBody{Error: "unsupported Content-Type " + strconv.Quote(req.Header.Get("Content-Type")) + "; send application/json or application/x-ndjson"})
			return
		}
		body, release, err := r.budget.readBody(req.Body)
		defer release()
		if errors.Is(err, errBudget) {
			w.Header().Set("Retry-After", strconv.Itoa(int(r.cfg.RetryAfter.Seconds())))
			writeError(w, http.StatusServiceUnavailable, errorBody{Error: "too many request bytes in flight, retry later: " + err.Error()})
			return
		}
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				writeError(w, http.StatusRequestEntityTooLarge, errorBody{Error: "request body larger than max_request_body_size (" + strconv.FormatInt(tooLarge.Limit, 10) + " bytes)"})
				return
			}
			writeError(w, http.StatusBadRequest, errorBody{Error: "reading the request body: " + err.Error()})
			return
		}

		ld, n, perr := r.decode(d, body, ndjson)
		if perr != nil {
			status := http.StatusBadRequest
			if perr.TooLarge {
				status = http.StatusRequestEntityTooLarge
			}
			writeError(w, status, describe(perr))
			return
		}
		if n == 0 {
			// Nothing to hand on (calls or requests no guardrail judged).
			writeJSON(w, http.StatusOK, map[string]int{"accepted": 0})
			return
		}
		r.consume(w, req, ld, n)
	})
}

// decode turns a body into logs, refusing it whole at the first bad record.
func (r *policyGatewayReceiver) decode(d *dialect.Dialect, body []byte, ndjson bool) (plog.Logs, int, *jsonbody.Error) {
	ld := plog.NewLogs()
	sl := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
	sl.Scope().SetName(metadata.ScopeName)
	lrs := sl.LogRecords()
	observed := pcommon.NewTimestampFromTime(time.Now())

	recs := make([]*record.Record, 0, 4)
	err := jsonbody.Split(body, ndjson, r.limits, func(pos jsonbody.Position, obj jsonbody.Value) error {
		var nerr error
		recs, nerr = d.Normalize(recs[:0], obj, record.Hints{})
		if nerr == nil && r.limits.MaxRecords > 0 && lrs.Len()+len(recs) > r.limits.MaxRecords {
			// A gateway payload can give several records: the limit is on
			// what the request becomes, not only on what it holds.
			return &jsonbody.Error{Pos: pos, Reason: jsonbody.ReasonLimit, TooLarge: true,
				Msg: fmt.Sprintf("more than %d records from one request", r.limits.MaxRecords)}
		}
		if nerr != nil {
			e := &jsonbody.Error{Pos: pos, Msg: nerr.Error(), Reason: "invalid"}
			var fe *record.FieldError
			if errors.As(nerr, &fe) {
				e.Field, e.Msg, e.Reason = fe.Field, fe.Msg, fe.Reason
			}
			return e
		}
		for _, rec := range recs {
			lr := lrs.AppendEmpty()
			lr.SetObservedTimestamp(observed)
			rec.SetLogRecordFields(lr)
			rec.CopyTo(lr.Body().SetEmptyMap())
		}
		return nil
	})
	if err != nil {
		var je *jsonbody.Error
		if !errors.As(err, &je) {
			je = &jsonbody.Error{Msg: err.Error(), Reason: "invalid"}
		}
		return plog.Logs{}, 0, je
	}
	return ld, lrs.Len(), nil
}

// consume hands the records on and answers only after the next consumer
// took them: 200 with the count, or 503 with Retry-After when it refused
// (memory_limiter, a full queue), so the gateway retries the whole batch.
func (r *policyGatewayReceiver) consume(w http.ResponseWriter, req *http.Request, ld plog.Logs, n int) {
	ctx := r.obsrecv.StartLogsOp(req.Context())
	err := r.next.ConsumeLogs(ctx, ld)
	r.obsrecv.EndLogsOp(ctx, "json", n, err)
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, map[string]int{"accepted": n})
	case consumererror.IsPermanent(err):
		writeError(w, http.StatusInternalServerError, errorBody{Error: "the pipeline rejected the records: " + err.Error()})
	default:
		w.Header().Set("Retry-After", strconv.Itoa(int(r.cfg.RetryAfter.Seconds())))
		writeError(w, http.StatusServiceUnavailable, errorBody{Error: "the pipeline is refusing data, retry later: " + err.Error()})
	}
}

// acceptedContentType accepts JSON and the NDJSON media types, and no type
// at all; it reports whether the body is to be read as NDJSON.
func acceptedContentType(ct string) (ndjson, ok bool) {
	if ct == "" {
		return false, true
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false, false
	}
	switch mt {
	case "application/json", "text/json":
		return false, true
	case "application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines", "application/jsonlines":
		return true, true
	}
	return false, false
}

func describe(e *jsonbody.Error) errorBody {
	b := errorBody{Error: e.Error(), Field: e.Field, Reason: e.Reason, Line: e.Pos.Line}
	if e.Pos.Line == 0 && e.Pos.Index >= 0 {
		idx := e.Pos.Index
		b.Index = &idx
	}
	return b
}

func writeError(w http.ResponseWriter, status int, body errorBody) {
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
