// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package kongauditreceiver

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.uber.org/zap"

	"github.com/policyaudit/policyaudit/internal/dialect/kongaudit"
	"github.com/policyaudit/policyaudit/internal/jsonbody"
	"github.com/policyaudit/policyaudit/internal/record"
	"github.com/policyaudit/policyaudit/receiver/kongauditreceiver/internal/metadata"
)

// cursorKey is where the position is kept in the storage extension.
const cursorKey = "cursor"

// maxBackoff bounds the wait after failed reads of the Admin API.
const maxBackoff = 5 * time.Minute

// The two lists of Kong's audit log.
const (
	pathRequests = "/audit/requests"
	pathObjects  = "/audit/objects"
)

type kongAuditReceiver struct {
	set     receiver.Settings
	cfg     *Config
	next    consumer.Logs
	obsrecv *receiverhelper.ObsReport
	limits  jsonbody.Limits
	client  *http.Client
	store   storage.Client

	cursor   cursor
	cancel   context.CancelFunc
	done     sync.WaitGroup
	shutdown sync.Once
}

// cursor is how far each list has been emitted.
type cursor struct {
	Requests position `json:"requests"`
	Objects  position `json:"objects"`
}

// position is the newest request_timestamp emitted and every entry emitted
// within lookback of it, by ID with its timestamp: Kong's lists are not in
// time order, several entries share a second, and an entry written by a
// node whose clock is behind can appear after newer ones.
type position struct {
	Timestamp float64            `json:"timestamp"`
	Seen      map[string]float64 `json:"seen"`
}

// lookback is how much older than the newest emitted entry a late entry
// may be and still be emitted; an entry older than that, not emitted yet,
// is taken as emitted before (the position keeps no more).
const lookback = 10 * 60 // seconds

// pageLevels are the levels of a page around its entries: the page's object
// and its data array.
const pageLevels = 2

func newReceiver(set receiver.Settings, cfg *Config, next consumer.Logs) (*kongAuditReceiver, error) {
	obsrecv, err := receiverhelper.NewObsReport(receiverhelper.ObsReportSettings{
		ReceiverID:             set.ID,
		Transport:              "http",
		ReceiverCreateSettings: set,
	})
	if err != nil {
		return nil, err
	}
	return &kongAuditReceiver{
		set: set, cfg: cfg, next: next, obsrecv: obsrecv,
		limits: jsonbody.Limits{MaxDepth: cfg.MaxNestingDepth + pageLevels, MaxStringLength: cfg.MaxStringLength},
	}, nil
}

// Start reads the saved position and polls in the background.
func (r *kongAuditReceiver) Start(ctx context.Context, host component.Host) error {
	var err error
	r.client, err = r.cfg.ToClient(ctx, host.GetExtensions(), r.set.TelemetrySettings)
	if err != nil {
		return fmt.Errorf("kongaudit: the Admin API client: %w", err)
	}
	if r.cfg.Storage != nil {
		ext, ok := host.GetExtensions()[*r.cfg.Storage]
		if !ok {
			return fmt.Errorf("kongaudit: storage: no extension %s", r.cfg.Storage)
		}
		se, ok := ext.(storage.Extension)
		if !ok {
			return fmt.Errorf("kongaudit: storage: %s is not a storage extension", r.cfg.Storage)
		}
		if r.store, err = se.GetClient(ctx, component.KindReceiver, r.set.ID, ""); err != nil {
			return fmt.Errorf("kongaudit: storage: %w", err)
		}
		saved, err := r.store.Get(ctx, cursorKey)
		if err != nil {
			return fmt.Errorf("kongaudit: reading the saved position: %w", err)
		}
		if saved != nil {
			if err := json.Unmarshal(saved, &r.cursor); err != nil {
				return fmt.Errorf("kongaudit: the saved position is not readable: %w", err)
			}
		}
	}
	loopCtx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.done.Add(1)
	go r.loop(loopCtx)
	return nil
}

// Shutdown stops polling and closes the storage client; safe twice and
// without Start.
func (r *kongAuditReceiver) Shutdown(ctx context.Context) error {
	var err error
	r.shutdown.Do(func() {
		if r.cancel != nil {
			r.cancel()
		}
		stopped := make(chan struct{})
		go func() { r.done.Wait(); close(stopped) }()
		select {
		case <-stopped:
		case <-ctx.Done():
			// The poll in flight still holds the storage client: it is
			// closed once that poll ends, so the position it saves is kept.
			err = ctx.Err()
			if r.store != nil {
				go func() { <-stopped; _ = r.store.Close(context.Background()) }()
			}
			return
		}
		if r.store != nil {
			err = r.store.Close(ctx)
		}
	})
	return err
}

// loop polls now and then every poll_interval, backing off (doubling from
// a second, up to five minutes) while the Admin API fails.
func (r *kongAuditReceiver) loop(ctx context.Context) {
	defer r.done.Done()
	backoff := time.Duration(0)
	for {
		wait := r.cfg.PollInterval
		if err := r.poll(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			backoff = min(max(2*backoff, time.Second), maxBackoff)
			wait = backoff
			r.set.Logger.Warn("Reading Kong's audit log failed; retrying", zap.Error(err), zap.Duration("retry_in", wait))
		} else {
			backoff = 0
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// poll reads both lists whole, emits what the cursor has not seen (the
// requests first: an object change names its request's actor), and moves
// the cursor only once the pipeline took the records.
func (r *kongAuditReceiver) poll(ctx context.Context) error {
	// Only entries the positions can still take are kept while paging, so
	// a long log (Kong keeps it for audit_log_record_ttl) costs a page of
	// memory, not the whole log; requests as far back as objects, for the
	// actors of their changes.
	objectsFloor := r.cursor.Objects.Timestamp - lookback
	requests, err := r.list(ctx, pathRequests, min(r.cursor.Requests.Timestamp-lookback, objectsFloor))
	if err != nil {
		return err
	}
	objects, err := r.list(ctx, pathObjects, objectsFloor)
	if err != nil {
		return err
	}
	// An object's request by request_id (the last entry of an ID read
	// wins); an entry without one is keyed "", as an object without one.
	byRequest := make(map[string]*jsonbody.Value, len(requests))
	for i := range requests {
		byRequest[text(&requests[i], "request_id")] = &requests[i]
	}
	newRequests, nextRequests := unseen(requests, "request_id", r.cursor.Requests)
	newObjects, nextObjects := unseen(objects, "id", r.cursor.Objects)
	if len(newRequests)+len(newObjects) == 0 {
		return nil
	}

	ld := plog.NewLogs()
	sl := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
	sl.Scope().SetName(metadata.ScopeName)
	observed := pcommon.NewTimestampFromTime(time.Now())
	var unmapped []error
	// emit adds an entry's records to the logs, or keeps its error; the
	// slice of records is reused from entry to entry.
	emit := func(recs []*record.Record, err error) []*record.Record {
		if err != nil {
			unmapped = append(unmapped, err)
			return recs
		}
		for _, rec := range recs {
			lr := sl.LogRecords().AppendEmpty()
			lr.SetObservedTimestamp(observed)
			rec.SetLogRecordFields(lr)
			rec.CopyTo(lr.Body().SetEmptyMap())
		}
		return recs
	}
	var recs []*record.Record
	for _, e := range newRequests {
		recs = emit(kongaudit.NormalizeRequest(recs[:0], e))
	}
	for i := range newObjects {
		e := &newObjects[i]
		recs = emit(kongaudit.NormalizeObject(recs[:0], *e, byRequest[text(e, "request_id")]))
	}
	if len(unmapped) > 0 {
		// Kong's own entries: one that does not map is reported once a
		// poll and passed over, not retried forever.
		r.set.Logger.Warn("Kong audit entries that do not map to admin events were passed over",
			zap.Int("entries", len(unmapped)), zap.Error(unmapped[0]))
	}
	if n := sl.LogRecords().Len(); n > 0 {
		obsCtx := r.obsrecv.StartLogsOp(ctx)
		err := r.next.ConsumeLogs(obsCtx, ld)
		r.obsrecv.EndLogsOp(obsCtx, "json", n, err)
		if err != nil {
			return fmt.Errorf("the pipeline refused %d audit events: %w", n, err)
		}
	}
	r.cursor = cursor{Requests: nextRequests, Objects: nextObjects}
	return r.save(ctx)
}

func (r *kongAuditReceiver) save(ctx context.Context) error {
	if r.store == nil {
		return nil
	}
	b, err := json.Marshal(r.cursor)
	if err != nil {
		return err
	}
	if err := r.store.Set(ctx, cursorKey, b); err != nil {
		return fmt.Errorf("saving the position: %w", err)
	}
	return nil
}

// page is one page of an Admin API list.
type page struct {
	Data []jsonbody.Value // each an object
	Next *string
}

// list reads every page of a list, following next, and keeps the entries
// newer than floor.
func (r *kongAuditReceiver) list(ctx context.Context, path string, floor float64) ([]jsonbody.Value, error) {
	base, err := url.Parse(strings.TrimSuffix(r.cfg.Endpoint, "/"))
	if err != nil {
		return nil, fmt.Errorf("endpoint: %w", err)
	}
	prefix := ""
	if r.cfg.Workspace != "" {
		prefix = "/" + url.PathEscape(r.cfg.Workspace)
	}
	next := prefix + path + "?size=" + strconv.Itoa(r.cfg.PageSize)
	var all []jsonbody.Value
	for pages := 0; next != ""; pages++ {
		if pages > 100000 {
			return nil, fmt.Errorf("%s: more than 100000 pages", path)
		}
		ref, err := url.Parse(next)
		if err != nil {
			return nil, fmt.Errorf("%s: next %q: %w", path, next, err)
		}
		u := base.JoinPath(ref.Path)
		u.RawQuery = ref.RawQuery
		p, err := r.get(ctx, u.String())
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		for i := range p.Data {
			if timestamp(&p.Data[i]) > floor {
				all = append(all, p.Data[i])
			}
		}
		next = ""
		if p.Next != nil {
			next = *p.Next
		}
	}
	return all, nil
}

func (r *kongAuditReceiver) get(ctx context.Context, u string) (page, error) {
	var p page
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return p, err
	}
	if r.cfg.AdminToken != "" {
		req.Header.Set("Kong-Admin-Token", string(r.cfg.AdminToken))
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return p, err
	}
	defer resp.Body.Close()
	// One byte past the limit tells a page over it from a page at it.
	body, err := io.ReadAll(io.LimitReader(resp.Body, r.cfg.MaxPageBodySize+1))
	if err != nil {
		return p, err
	}
	if resp.StatusCode != http.StatusOK {
		return p, fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(body[:min(len(body), 512)]))
	}
	if int64(len(body)) > r.cfg.MaxPageBodySize {
		return p, fmt.Errorf("%w: the page is larger than max_page_body_size (%d bytes)", errPageOverLimits, r.cfg.MaxPageBodySize)
	}
	return decodePage(body, r.limits)
}

// errPageOverLimits is a page refused whole, not decoded: polling stops
// there and retries (backing off) until the limits are raised or Kong's
// audit_log_record_ttl removes the entry at fault.
var errPageOverLimits = errors.New("a page of the Admin API over the receiver's limits is refused")

// decodePage decodes a page ({data, next, total}) within lim, as every
// input of the distribution is decoded: jsonbody checks nesting and string
// length while it scans, before anything is built, and refuses invalid
// UTF-8. The entries stay jsonbody.Values, as the kongaudit dialect reads
// them: the values of a repeated key all kept, the last one read.
func decodePage(body []byte, lim jsonbody.Limits) (page, error) {
	var p page
	v, err := jsonbody.DecodeObject(body, lim)
	if err != nil {
		var je *jsonbody.Error
		if errors.As(err, &je) && je.Reason == jsonbody.ReasonLimit {
			return p, fmt.Errorf("%w: %s (max_string_length %d; max_nesting_depth %d in an entry, %d levels in the page around it)",
				errPageOverLimits, je.Msg, lim.MaxStringLength, lim.MaxDepth-pageLevels, lim.MaxDepth)
		}
		return p, fmt.Errorf("not a page of the Admin API: %w", err)
	}
	if data, ok := v.Lookup("data"); ok && data.Kind != jsonbody.Null {
		if data.Kind != jsonbody.Array {
			return p, errors.New("not a page of the Admin API: data is not an array")
		}
		p.Data = make([]jsonbody.Value, len(data.Items))
		for i := range data.Items {
			if data.Items[i].Value.Kind != jsonbody.Object {
				return page{}, fmt.Errorf("not a page of the Admin API: data[%d] is not an object", i)
			}
			p.Data[i] = data.Items[i].Value
		}
	}
	if next, ok := v.Lookup("next"); ok {
		switch next.Kind {
		case jsonbody.String:
			p.Next = &next.Str
		case jsonbody.Null:
		default:
			return p, errors.New("not a page of the Admin API: next is not a string")
		}
	}
	return p, nil
}

// unseen returns the entries pos has not covered, oldest first, and the
// position after them.
func unseen(entries []jsonbody.Value, idKey string, pos position) ([]jsonbody.Value, position) {
	floor := pos.Timestamp - lookback
	var out []jsonbody.Value
	for i := range entries {
		if _, done := pos.Seen[text(&entries[i], idKey)]; !done && timestamp(&entries[i]) > floor {
			out = append(out, entries[i])
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return timestamp(&out[i]) < timestamp(&out[j]) })
	next := position{Timestamp: pos.Timestamp, Seen: make(map[string]float64, len(pos.Seen)+len(out))}
	for i := range out {
		next.Timestamp = max(next.Timestamp, timestamp(&out[i]))
	}
	for id, ts := range pos.Seen {
		if ts > next.Timestamp-lookback {
			next.Seen[id] = ts
		}
	}
	for i := range out {
		if ts := timestamp(&out[i]); ts > next.Timestamp-lookback {
			next.Seen[text(&out[i], idKey)] = ts
		}
	}
	return out, next
}

// timestamp is an entry's request_timestamp (epoch seconds), 0 when it is
// not a number.
func timestamp(e *jsonbody.Value) float64 {
	if v, ok := e.Lookup("request_timestamp"); ok && v.Kind == jsonbody.Number {
		// As json.Number's Float64 read it: ±Inf out of range.
		f, _ := strconv.ParseFloat(v.Str, 64)
		return f
	}
	return 0
}

// text is the string or number at key in an entry as text, else "" (null
// and a missing key included).
func text(e *jsonbody.Value, key string) string {
	v, _ := e.Lookup(key)
	s, _ := record.ValueString(v)
	return s
}
