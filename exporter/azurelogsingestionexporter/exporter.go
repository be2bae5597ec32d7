// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package azurelogsingestionexporter

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"strconv"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/monitor/ingestion/azlogs"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/policyaudit/policyaudit/exporter/azurelogsingestionexporter/internal/metadata"
	"github.com/policyaudit/policyaudit/internal/plogutil"
	"github.com/policyaudit/policyaudit/internal/record"
)

// maxCallBytes is the most a call may carry: the API takes 1 MB, counted
// compressed and uncompressed; a batch is cut below it uncompressed (and
// gzip only shrinks it).
const maxCallBytes = 1_000_000

type azureLogs struct {
	cfg       *Config
	telemetry *metadata.TelemetryBuilder
	client    *azlogs.Client
	streams   [2]stream // by kind: decisions, admin
}

type stream struct {
	name string
	cols []column
}

func newAzureLogs(set exporter.Settings, cfg *Config) (*azureLogs, error) {
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	return &azureLogs{
		cfg:       cfg,
		telemetry: tb,
		streams: [2]stream{
			{name: cfg.DecisionStream, cols: columnsOf(record.KindDecision)},
			{name: cfg.AdminStream, cols: columnsOf(record.KindAdmin)},
		},
	}, nil
}

// start builds the credential and the client; no call is made until the
// first batch, so Start returns at once.
func (e *azureLogs) start(ctx context.Context, host component.Host) error {
	tlsCfg, err := e.cfg.TLS.LoadTLSConfig(ctx)
	if err != nil {
		return fmt.Errorf("tls: %w", err)
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = tlsCfg
	opts := azcore.ClientOptions{
		Cloud:     e.cloud(),
		Transport: &http.Client{Transport: transport},
		// The collector's retry (and its persistent queue) retries, with
		// Retry-After honoured: the SDK's own would retry inside one
		// attempt, out of sight of the queue.
		Retry: policy.RetryOptions{MaxRetries: -1},
	}
	cred, err := e.credential(opts)
	if err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	e.client, err = azlogs.NewClient(e.cfg.Endpoint, cred, &azlogs.ClientOptions{ClientOptions: opts})
	return err
}

func (e *azureLogs) cloud() cloud.Configuration {
	var c cloud.Configuration
	switch e.cfg.Cloud {
	case CloudUSGovernment:
		c = cloud.AzureGovernment
	case CloudChina:
		c = cloud.AzureChina
	default:
		c = cloud.AzurePublic
	}
	c.Services = maps.Clone(c.Services)
	if e.cfg.AuthorityHost != "" {
		c.ActiveDirectoryAuthorityHost = e.cfg.AuthorityHost
	}
	return c
}

func (e *azureLogs) credential(opts azcore.ClientOptions) (azcore.TokenCredential, error) {
	a := e.cfg.Auth
	private := e.cfg.AuthorityHost != "" // no instance discovery against Microsoft's for a private authority
	switch a.Type {
	case AuthManagedIdentity:
		o := &azidentity.ManagedIdentityCredentialOptions{ClientOptions: opts}
		if a.ClientID != "" {
			o.ID = azidentity.ClientID(a.ClientID)
		}
		return azidentity.NewManagedIdentityCredential(o)
	case AuthWorkloadIdentity:
		return azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{
			ClientOptions: opts, TenantID: a.TenantID, ClientID: a.ClientID, DisableInstanceDiscovery: private,
		})
	default:
		return azidentity.NewClientSecretCredential(a.TenantID, a.ClientID, string(a.ClientSecret),
			&azidentity.ClientSecretCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: private})
	}
}

func (e *azureLogs) shutdown(context.Context) error {
	e.telemetry.Shutdown()
	return nil
}

// pending is the log records of one call, so that those not yet sent can be
// handed back for a retry.
type pending struct {
	body    []byte
	records []plog.LogRecord
}

// pushLogs sends each record to its kind's stream, in calls under 1 MB. A
// record whose body is not a canonical record is refused (permanently); on
// a failure the records not yet accepted are returned for the retry, so
// none is sent twice by this exporter.
func (e *azureLogs) pushLogs(ctx context.Context, ld plog.Logs) error {
	var calls [2][]pending
	var refused int
	plogutil.Each(ld, func(lr plog.LogRecord) {
		if lr.Body().Type() != pcommon.ValueTypeMap {
			refused++
			return
		}
		m := lr.Body().Map()
		k := 0
		if v, _ := m.Get(record.FieldEventKind); v.Str() == record.EventKindAdmin {
			k = 1
		}
		calls[k] = e.add(calls[k], e.streams[k].cols, m, lr)
	})
	var permanent []error
	for k, list := range calls {
		for i, call := range list {
			err := e.upload(ctx, e.streams[k].name, call.body)
			if err == nil {
				continue
			}
			var rest []plog.LogRecord
			for _, c := range list[i:] {
				rest = append(rest, c.records...)
			}
			for _, later := range calls[k+1:] {
				for _, c := range later {
					rest = append(rest, c.records...)
				}
			}
			if err = e.failed(ctx, err, call.records, rest); consumererror.IsPermanent(err) {
				permanent = append(permanent, err) // this call's rows only: go on with the rest
				continue
			}
			return err
		}
	}
	if refused > 0 {
		e.telemetry.ExporterAzureLogsIngestionRefusedRecords.Add(ctx, int64(refused))
		permanent = append(permanent, fmt.Errorf("%d log records without a canonical record body (is the policydecision processor before this exporter?)", refused))
	}
	if len(permanent) > 0 {
		return consumererror.NewPermanent(errors.Join(permanent...))
	}
	return nil
}

// add writes m's row into the last call, or moves it to a new one when it
// would take that call past maxCallBytes (every row fits an empty call:
// appendRow).
func (e *azureLogs) add(calls []pending, cols []column, m pcommon.Map, lr plog.LogRecord) []pending {
	if len(calls) == 0 {
		calls = append(calls, newCall())
	}
	c := &calls[len(calls)-1]
	mark := len(c.body)
	if mark > 1 {
		c.body = append(c.body, ',')
	}
	c.body = appendRow(c.body, cols, m)
	if len(c.body)+1 > maxCallBytes && mark > 1 {
		row := c.body[mark+1:]
		next := newCall()
		next.body = append(next.body, row...)
		c.body = c.body[:mark]
		calls = append(calls, next)
		c = &calls[len(calls)-1]
	}
	c.records = append(c.records, lr)
	return calls
}

func newCall() pending { return pending{body: append(make([]byte, 0, 64<<10), '[')} }

// upload sends one JSON array, gzip-compressed.
func (e *azureLogs) upload(ctx context.Context, streamName string, array []byte) error {
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	_, _ = w.Write(array)
	_, _ = w.Write([]byte{']'})
	if err := w.Close(); err != nil {
		return err
	}
	encoding := "gzip"
	_, err := e.client.Upload(ctx, e.cfg.RuleID, streamName, gz.Bytes(), &azlogs.UploadOptions{ContentEncoding: &encoding})
	if err == nil {
		e.telemetry.ExporterAzureLogsIngestionCalls.Add(ctx, 1)
	}
	return err
}

// failed classifies a failed call: throttling (429, with Retry-After) and
// server errors are retried; 403 too (a role assignment takes up to 30
// minutes to apply, and an audit trail waits rather than drops), counted;
// any other 4xx (a malformed row) is permanent, counted, with the
// service's error text, for that call's records only. The records not yet
// accepted go back for the retry.
func (e *azureLogs) failed(ctx context.Context, err error, call, rest []plog.LogRecord) error {
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		return consumererror.NewLogs(err, plogutil.LogsOf(rest)) // transport or token: retried
	}
	switch {
	case re.StatusCode == http.StatusTooManyRequests:
		return consumererror.NewLogs(exporterhelper.NewThrottleRetry(err, retryAfter(re.RawResponse)), plogutil.LogsOf(rest))
	case re.StatusCode >= 500, re.StatusCode == http.StatusUnauthorized, re.StatusCode == http.StatusRequestTimeout:
		return consumererror.NewLogs(err, plogutil.LogsOf(rest))
	case re.StatusCode == http.StatusForbidden:
		e.telemetry.ExporterAzureLogsIngestionRefusedRecords.Add(ctx, int64(len(call)))
		return consumererror.NewLogs(fmt.Errorf("forbidden (does the identity have Monitoring Metrics Publisher on the DCR? assignments take up to 30 minutes): %w", err), plogutil.LogsOf(rest))
	default:
		e.telemetry.ExporterAzureLogsIngestionRefusedRecords.Add(ctx, int64(len(call)))
		return consumererror.NewPermanent(fmt.Errorf("%d records refused: %w", len(call), err))
	}
}

// retryAfter reads Retry-After (seconds); 0 leaves the delay to the
// collector's backoff.
func retryAfter(resp *http.Response) time.Duration {
	if resp == nil {
		return 0
	}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	return 0
}
