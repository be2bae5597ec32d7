// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package kongauditreceiver

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/storagetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	"github.com/policyaudit/policyaudit/internal/jsonbody"
	"github.com/policyaudit/policyaudit/receiver/kongauditreceiver/internal/metadata"
)

// adminAPI serves Kong's /audit/requests and /audit/objects as its Admin
// API documents them: pages of `size` entries as {data, next, total}, next
// a path with an offset, null on the last page; Kong-Admin-Token checked.
type adminAPI struct {
	mu       sync.Mutex
	requests []map[string]any
	objects  []map[string]any
	failing  bool
	calls    int
}

const adminToken = "kong-admin-token"

func (a *adminAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls++
	if r.Header.Get("Kong-Admin-Token") != adminToken {
		http.Error(w, `{"message":"Invalid credentials"}`, http.StatusUnauthorized)
		return
	}
	if a.failing {
		http.Error(w, `{"message":"An unexpected error occurred"}`, http.StatusInternalServerError)
		return
	}
	var list []map[string]any
	switch r.URL.Path {
	case "/audit/requests":
		list = a.requests
	case "/audit/objects":
		list = a.objects
	default:
		http.NotFound(w, r)
		return
	}
	size, _ := strconv.Atoi(r.URL.Query().Get("size"))
	offset, _ := strconv.Atoi(r.URL.Query().Get("offset"))
	end := min(offset+size, len(list))
	body := map[string]any{"data": list[offset:end], "total": len(list), "next": nil}
	if end < len(list) {
		body["next"] = fmt.Sprintf("%s?offset=%d&size=%d", r.URL.Path, end, size)
	}
	_ = json.NewEncoder(w).Encode(body)
}

// add appends n Admin API calls at a second, each changing one plugin, in
// reverse order of time (Kong's lists are not in time order).
func (a *adminAPI) add(from, n int, at float64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i := from + n - 1; i >= from; i-- {
		rid := fmt.Sprintf("req-%04d", i)
		a.requests = append(a.requests, map[string]any{
			"request_id": rid, "request_timestamp": at, "client_ip": "10.0.0.7", "method": "PATCH",
			"path": "/plugins/p-" + strconv.Itoa(i), "status": 200, "rbac_user_name": "alice", "workspace": "default",
			"payload": `{"config":{"guardrails_version":"4"}}`,
		})
		a.objects = append(a.objects, map[string]any{
			"id": fmt.Sprintf("obj-%04d", i), "request_id": rid, "request_timestamp": at, "dao_name": "plugins",
			"operation": "update", "entity_key": "p-" + strconv.Itoa(i),
			"entity": `{"name":"ai-aws-guardrails","config":{"guardrails_id":"gr-7x2k9fin","guardrails_version":"4","aws_secret_access_key":"s3cr3t"}}`,
		})
	}
}

func (a *adminAPI) setFailing(f bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.failing = f
}

func startReceiver(t *testing.T, api *httptest.Server, host component.Host, sink *consumertest.LogsSink) *kongAuditReceiver {
	t.Helper()
	cfg := createDefaultConfig().(*Config)
	cfg.Endpoint = api.URL
	cfg.AdminToken = adminToken
	cfg.PageSize = 7
	cfg.PollInterval = 50 * time.Millisecond
	id := storagetest.NewStorageID("queue")
	cfg.Storage = &id
	set := receivertest.NewNopSettings(metadata.Type)
	set.ID = component.NewID(metadata.Type) // the same receiver after a restart: the same storage
	set.Logger = zaptest.NewLogger(t)
	r, err := newReceiver(set, cfg, sink)
	require.NoError(t, err)
	require.NoError(t, r.Start(context.Background(), host))
	t.Cleanup(func() { require.NoError(t, r.Shutdown(context.Background())) })
	return r
}

// actions counts the emitted events by action and by their correlation ID.
func emitted(sink *consumertest.LogsSink) map[string]int {
	out := map[string]int{}
	for _, ld := range sink.AllLogs() {
		lrs := ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
		for i := 0; i < lrs.Len(); i++ {
			b := lrs.At(i).Body().Map().AsRaw()
			out[b["action"].(string)+" "+b["correlation_id"].(string)]++
		}
	}
	return out
}

// Every entry of both lists arrives once, across pages, across a restart
// (the position is in the storage extension) and across an Admin API
// outage, during which the receiver backs off.
func TestEveryEntryOnceAcrossPagesRestartsAndOutages(t *testing.T) {
	api := &adminAPI{}
	api.add(0, 20, 1795420800)
	srv := httptest.NewServer(api)
	defer srv.Close()
	host := storagetest.NewStorageHost().WithFileBackedStorageExtension("queue", t.TempDir())

	sink := new(consumertest.LogsSink)
	r := startReceiver(t, srv, host, sink)
	require.Eventually(t, func() bool { return sink.LogRecordCount() == 40 }, 10*time.Second, 20*time.Millisecond)
	require.NoError(t, r.Shutdown(context.Background()))

	// More entries, some in the same second as the last ones seen.
	api.add(20, 5, 1795420800)
	api.add(25, 5, 1795420801)
	sink2 := new(consumertest.LogsSink)
	startReceiver(t, srv, host, sink2)
	require.Eventually(t, func() bool { return sink2.LogRecordCount() == 20 }, 10*time.Second, 20*time.Millisecond)

	api.setFailing(true)
	api.add(30, 3, 1795420805)
	time.Sleep(300 * time.Millisecond)
	api.mu.Lock()
	callsWhileFailing := api.calls
	api.mu.Unlock()
	api.setFailing(false)
	require.Eventually(t, func() bool { return sink2.LogRecordCount() == 26 }, 10*time.Second, 20*time.Millisecond)

	// Late entries: written by a node whose clock is behind, they appear
	// after newer ones, a few seconds older than the newest emitted.
	api.add(33, 2, 1795420790)
	require.Eventually(t, func() bool { return sink2.LogRecordCount() == 30 }, 10*time.Second, 20*time.Millisecond)
	time.Sleep(200 * time.Millisecond)

	all := emitted(sink)
	for k, n := range emitted(sink2) {
		all[k] += n
	}
	require.Len(t, all, 70, "every request and object of the 35 calls")
	for k, n := range all {
		assert.Equal(t, 1, n, "%s emitted %d times", k, n)
	}
	assert.Equal(t, 1, all["admin_api.patch req-0032"])
	assert.Equal(t, 1, all["plugins.update req-0032"])
	assert.Equal(t, 1, all["plugins.update req-0034"], "a late entry")
	assert.Less(t, callsWhileFailing, 40, "the receiver backs off while the Admin API fails (%d calls)", callsWhileFailing)
}

// An object change names the guardrail its decisions carry and the actor
// of its request; the plugin's configuration (its credentials) is not
// carried, and the request payload is a body.
func TestObjectChangeJoinsItsGuardrail(t *testing.T) {
	api := &adminAPI{}
	api.add(0, 1, 1795420800)
	srv := httptest.NewServer(api)
	defer srv.Close()
	sink := new(consumertest.LogsSink)
	startReceiver(t, srv, storagetest.NewStorageHost().WithInMemoryStorageExtension("queue"), sink)
	require.Eventually(t, func() bool { return sink.LogRecordCount() == 2 }, 10*time.Second, 20*time.Millisecond)
	var change, call map[string]any
	lrs := sink.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	for i := 0; i < lrs.Len(); i++ {
		b := lrs.At(i).Body().Map().AsRaw()
		if b["action"] == "plugins.update" {
			change = b
		} else {
			call = b
		}
	}
	require.NotNil(t, change)
	assert.Equal(t, "gr-7x2k9fin", change["policy_id"], "the decisions of aws-guardrails carry its guardrails_id")
	assert.Equal(t, map[string]any{"id": "alice", "type": "user", "ip": "10.0.0.7"}, change["actor"])
	assert.Equal(t, "ai-aws-guardrails", change["resource"].(map[string]any)["name"])
	assert.NotContains(t, fmt.Sprint(change), "s3cr3t", "the plugin's config is not carried")
	assert.Equal(t, "admin_api.patch", call["action"])
	assert.Equal(t, "success", call["outcome"])
	assert.Contains(t, call["extra"], "request_body", "the payload is a body, removed by the processor unless body_logging")
}

// Without the Admin token Kong answers 401: nothing is emitted, the
// receiver keeps trying, and Shutdown honours its deadline.
func TestUnauthorizedEmitsNothing(t *testing.T) {
	api := &adminAPI{}
	api.add(0, 2, 1795420800)
	srv := httptest.NewServer(api)
	defer srv.Close()
	cfg := createDefaultConfig().(*Config)
	cfg.Endpoint = srv.URL
	cfg.PollInterval = 20 * time.Millisecond
	sink := new(consumertest.LogsSink)
	r, err := newReceiver(receivertest.NewNopSettings(metadata.Type), cfg, sink)
	require.NoError(t, err)
	require.NoError(t, r.Start(context.Background(), storagetest.NewStorageHost()))
	require.Eventually(t, func() bool {
		api.mu.Lock()
		defer api.mu.Unlock()
		return api.calls >= 2
	}, 5*time.Second, 10*time.Millisecond, "the receiver asks again after a 401")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, r.Shutdown(ctx))
	require.NoError(t, r.Shutdown(ctx), "twice")
	assert.Zero(t, sink.LogRecordCount())
}

// While paging, only entries the position can still take are kept: a long
// log costs a page of memory, and an entry older than the window is taken
// as emitted before.
func TestPagingKeepsOnlyTheWindow(t *testing.T) {
	api := &adminAPI{}
	api.add(0, 20, 1795420000)
	api.add(20, 5, 1795421000)
	srv := httptest.NewServer(api)
	defer srv.Close()
	cfg := createDefaultConfig().(*Config)
	cfg.Endpoint, cfg.AdminToken, cfg.PageSize = srv.URL, adminToken, 3
	r, err := newReceiver(receivertest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
	require.NoError(t, err)
	r.client = srv.Client()
	kept, err := r.list(context.Background(), pathRequests, 1795421000-lookback)
	require.NoError(t, err)
	assert.Len(t, kept, 5, "the 20 entries older than the window are not kept")
	all, err := r.list(context.Background(), pathRequests, 0)
	require.NoError(t, err)
	assert.Len(t, all, 25, "across 9 pages of 3")
}

// Shutdown past its deadline, with a poll still handing entries to a slow
// pipeline: the storage client is closed once that poll ends, so the
// position it saved is kept and a restart emits nothing twice.
func TestShutdownPastItsDeadlineKeepsThePosition(t *testing.T) {
	api := &adminAPI{}
	api.add(0, 5, 1795420800)
	srv := httptest.NewServer(api)
	defer srv.Close()
	host := storagetest.NewStorageHost().WithFileBackedStorageExtension("queue", t.TempDir())

	release, called := make(chan struct{}), make(chan struct{}, 1)
	var taken atomic.Int64
	slow, err := consumer.NewLogs(func(_ context.Context, ld plog.Logs) error {
		select {
		case called <- struct{}{}:
		default:
		}
		<-release
		taken.Add(int64(ld.LogRecordCount()))
		return nil
	})
	require.NoError(t, err)
	cfg := createDefaultConfig().(*Config)
	cfg.Endpoint, cfg.AdminToken, cfg.PageSize, cfg.PollInterval = srv.URL, adminToken, 7, time.Hour
	id := storagetest.NewStorageID("queue")
	cfg.Storage = &id
	set := receivertest.NewNopSettings(metadata.Type)
	set.ID = component.NewID(metadata.Type)
	r, err := newReceiver(set, cfg, slow)
	require.NoError(t, err)
	require.NoError(t, r.Start(context.Background(), host))
	<-called
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, r.Shutdown(ctx), context.DeadlineExceeded)
	close(release)
	require.Eventually(t, func() bool { return taken.Load() == 10 }, 5*time.Second, 10*time.Millisecond)
	time.Sleep(100 * time.Millisecond) // the position saved, the client closed

	sink := new(consumertest.LogsSink)
	startReceiver(t, srv, host, sink)
	time.Sleep(300 * time.Millisecond)
	assert.Zero(t, sink.LogRecordCount(), "the entries the first receiver took are not emitted again")
}

// pageServer answers every list with body.
func pageServer(t *testing.T, body string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func entryJSON(t *testing.T, id string, payload any) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{
		"request_id": id, "request_timestamp": 1795420800, "method": "PATCH", "path": "/plugins/p-1",
		"status": 200, "rbac_user_name": "alice", "payload": payload,
	})
	require.NoError(t, err)
	return string(b)
}

// A page over the limits (its body, an entry's nesting, a string) is
// refused whole, before anything of it is decoded; the receiver emits
// nothing, reports it naming the key to raise, and keeps retrying. The
// same page within the limits is read.
func TestPageOverTheLimitsIsRefused(t *testing.T) {
	deep := `{"a":{"b":{"c":{"d":"e"}}}}` // an entry holding it is 5 levels deep
	page := func(entries ...string) string {
		return `{"data":[` + strings.Join(entries, ",") + `],"next":null,"total":` + strconv.Itoa(len(entries)) + `}`
	}
	many := make([]string, 40)
	for i := range many {
		many[i] = entryJSON(t, fmt.Sprintf("req-%04d", i), "x")
	}
	for name, c := range map[string]struct {
		over, within string
		key          string
	}{
		"string": {
			over:   page(entryJSON(t, "req-1", strings.Repeat("x", 1025))),
			within: page(entryJSON(t, "req-1", strings.Repeat("x", 1024))),
			key:    "max_string_length",
		},
		"nesting": {
			over:   page(strings.Replace(entryJSON(t, "req-1", "x"), `"x"`, deep, 1)),
			within: page(strings.Replace(entryJSON(t, "req-1", "x"), `"x"`, `{"a":{"b":{"c":"d"}}}`, 1)),
			key:    "max_nesting_depth",
		},
		"body": {
			over:   page(many...),
			within: page(many[:10]...),
			key:    "max_page_body_size",
		},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := createDefaultConfig().(*Config)
			cfg.MaxPageBodySize, cfg.MaxNestingDepth, cfg.MaxStringLength = 4096, 4, 1024
			require.Greater(t, len(c.over), 0)
			read := func(body string) ([]jsonbody.Value, error) {
				srv := pageServer(t, body)
				cfg.Endpoint = srv.URL
				r, err := newReceiver(receivertest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
				require.NoError(t, err)
				r.client = srv.Client()
				return r.list(context.Background(), pathRequests, 0)
			}
			entries, err := read(c.within)
			require.NoError(t, err)
			assert.NotEmpty(t, entries)

			entries, err = read(c.over)
			require.ErrorIs(t, err, errPageOverLimits)
			assert.ErrorContains(t, err, c.key)
			assert.Nil(t, entries)
		})
	}

	// The receiver: nothing emitted, the refusal reported as it retries.
	srv := pageServer(t, page(entryJSON(t, "req-1", strings.Repeat("x", 70<<10))))
	cfg := createDefaultConfig().(*Config)
	cfg.Endpoint, cfg.PollInterval = srv.URL, 20*time.Millisecond
	set := receivertest.NewNopSettings(metadata.Type)
	core, logged := observer.New(zap.WarnLevel)
	set.Logger = zap.New(core)
	sink := new(consumertest.LogsSink)
	r, err := newReceiver(set, cfg, sink)
	require.NoError(t, err)
	require.NoError(t, r.Start(context.Background(), componenttest.NewNopHost()))
	defer func() { require.NoError(t, r.Shutdown(context.Background())) }()
	require.Eventually(t, func() bool {
		for _, e := range logged.All() {
			if err, ok := e.ContextMap()["error"].(string); ok && strings.Contains(err, "max_string_length 65536") {
				return true
			}
		}
		return false
	}, 5*time.Second, 10*time.Millisecond, "the default string limit (64 KiB) refuses a 70 KiB payload, and says so")
	assert.Zero(t, sink.LogRecordCount())
}

// Each hand-off to the pipeline is counted by the receiver's obsreport
// (otelcol_receiver_accepted_log_records, transport http).
func TestObsReportCountsTheHandOffs(t *testing.T) {
	api := &adminAPI{}
	api.add(0, 3, 1795420800)
	srv := httptest.NewServer(api)
	defer srv.Close()
	tel := componenttest.NewTelemetry()
	defer func() { require.NoError(t, tel.Shutdown(context.Background())) }()
	cfg := createDefaultConfig().(*Config)
	cfg.Endpoint, cfg.AdminToken, cfg.PollInterval = srv.URL, adminToken, time.Hour
	set := receivertest.NewNopSettings(metadata.Type)
	set.TelemetrySettings = tel.NewTelemetrySettings()
	sink := new(consumertest.LogsSink)
	r, err := newReceiver(set, cfg, sink)
	require.NoError(t, err)
	require.NoError(t, r.Start(context.Background(), componenttest.NewNopHost()))
	defer func() { require.NoError(t, r.Shutdown(context.Background())) }()
	require.Eventually(t, func() bool { return sink.LogRecordCount() == 6 }, 5*time.Second, 10*time.Millisecond)

	m, err := tel.GetMetric("otelcol_receiver_accepted_log_records")
	require.NoError(t, err)
	sum, ok := m.Data.(metricdata.Sum[int64])
	require.True(t, ok, "%T", m.Data)
	require.Len(t, sum.DataPoints, 1)
	assert.Equal(t, int64(6), sum.DataPoints[0].Value)
	transport, _ := sum.DataPoints[0].Attributes.Value("transport")
	assert.Equal(t, "http", transport.AsString())
	receiverID, _ := sum.DataPoints[0].Attributes.Value("receiver")
	assert.Equal(t, set.ID.String(), receiverID.AsString())
}

// An entry's repeated key counts once, its last value, in the join of an
// object to its request and in the position, as the dialect reads it.
func TestRepeatedKeysJoinAndPosition(t *testing.T) {
	pages := map[string]string{
		pathRequests: `{"data":[{"request_id":"r0","request_id":"r1","request_timestamp":5,"request_timestamp":1795428000,
			"method":"PATCH","path":"/plugins/p","status":200,"rbac_user_name":"alice"}],"next":null}`,
		pathObjects: `{"data":[{"id":"o0","id":"o1","request_id":"r0","request_id":"r1","request_timestamp":1795428001,
			"dao_name":"plugins","operation":"update","entity_key":"p","entity":{"name":"ai-sanitizer"}}],"next":null}`,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, pages[r.URL.Path])
	}))
	defer srv.Close()
	cfg := createDefaultConfig().(*Config)
	cfg.Endpoint = srv.URL
	sink := new(consumertest.LogsSink)
	r, err := newReceiver(receivertest.NewNopSettings(metadata.Type), cfg, sink)
	require.NoError(t, err)
	r.client = srv.Client()
	require.NoError(t, r.poll(context.Background()))

	require.Equal(t, 2, sink.LogRecordCount())
	lrs := sink.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()
	change := lrs.At(1).Body().Map().AsRaw()
	assert.Equal(t, "plugins.update", change["action"])
	assert.Equal(t, "r1", change["correlation_id"])
	assert.Equal(t, map[string]any{"id": "alice", "type": "user"}, change["actor"], "joined to r1's entry")
	assert.Equal(t, cursor{
		Requests: position{Timestamp: 1795428000, Seen: map[string]float64{"r1": 1795428000}},
		Objects:  position{Timestamp: 1795428001, Seen: map[string]float64{"o1": 1795428001}},
	}, r.cursor)
}
