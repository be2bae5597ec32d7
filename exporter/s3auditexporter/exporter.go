// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package s3auditexporter

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/zap"

	"github.com/policyaudit/policyaudit/exporter/s3auditexporter/internal/metadata"
	"github.com/policyaudit/policyaudit/internal/auditstore"
	"github.com/policyaudit/policyaudit/internal/s3client"
	"github.com/policyaudit/policyaudit/internal/s3digest"
)

type s3Audit struct {
	cfg       *Config
	set       exporter.Settings
	telemetry *metadata.TelemetryBuilder

	client    *s3.Client
	transport transports // their idle connections are closed at shutdown
	digester  *digester
	encoding  plog.Marshaler // the encoding extension's, when one is configured

	cancel       context.CancelFunc
	background   sync.WaitGroup
	shutdownOnce sync.Once
}

func newS3Audit(set exporter.Settings, cfg *Config) (*s3Audit, error) {
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	return &s3Audit{cfg: cfg, set: set, telemetry: tb}, nil
}

// transports are the HTTP transports an SDK client built, so that shutdown
// can close their idle connections.
type transports struct {
	mu   sync.Mutex
	list []*http.Transport
}

func (t *transports) add(tr *http.Transport) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.list = append(t.list, tr)
}

func (t *transports) closeIdle() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, tr := range t.list {
		tr.CloseIdleConnections()
	}
}

// newClient is the shared S3 client on transports it records, so that
// shutdown can close their idle connections.
func newClient(ctx context.Context, region, endpoint string, pathStyle bool, trs *transports) (*s3.Client, error) {
	httpClient := awshttp.NewBuildableClient().WithTransportOptions(trs.add)
	return s3client.New(ctx, region, endpoint, pathStyle, awsconfig.WithHTTPClient(httpClient))
}

// start reads the key and the digest state and starts the digest timer; it
// does not reach S3, so it returns at once when S3 is down.
func (e *s3Audit) start(ctx context.Context, host component.Host) error {
	if e.cfg.Encoding != nil {
		ext, ok := host.GetExtensions()[*e.cfg.Encoding]
		if !ok {
			return fmt.Errorf("s3audit: encoding: extension %q is not configured", e.cfg.Encoding)
		}
		if e.encoding, ok = ext.(plog.Marshaler); !ok {
			return fmt.Errorf("s3audit: encoding: extension %q does not marshal logs", e.cfg.Encoding)
		}
	}
	signer, err := e.cfg.Digest.Signer()
	if err != nil {
		return fmt.Errorf("s3audit: digest.%w", err)
	}
	if e.client, err = newClient(ctx, e.cfg.Region, e.cfg.Endpoint, e.cfg.ForcePathStyle, &e.transport); err != nil {
		return fmt.Errorf("s3audit: %w", err)
	}
	e.digester, err = openDigester(e.cfg.Digest.Directory, e.client, e.cfg.Bucket, e.cfg.Digest.Prefix, signer, time.Now, e.cfg.Archive)
	if err != nil {
		return fmt.Errorf("s3audit: %w", err)
	}
	if e.cfg.Digest.AuditStore.Endpoint != "" {
		client, err := e.cfg.Digest.AuditStore.ToClient(ctx, host.GetExtensions(), e.set.TelemetrySettings)
		if err != nil {
			return fmt.Errorf("s3audit: digest.audit_store: %w", err)
		}
		e.digester.head = e.auditStoreHead(newStoreHead(client, e.cfg.Digest.AuditStore.Endpoint))
	}
	e.set.Logger.Info("S3 digests are signed", zap.String("key_id", signer.KeyID()),
		zap.String("digest_prefix", e.cfg.Digest.Prefix), zap.Duration("interval", e.cfg.Digest.Interval))
	bg, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	e.background.Add(1)
	go func() {
		defer e.background.Done()
		e.digestPeriodically(bg)
	}()
	return nil
}

// auditStoreHead reads the store's head for a digest; when the store does
// not answer, the digest is written without it (the objects must still be
// listed) and the log says so.
func (e *s3Audit) auditStoreHead(h *storeHead) func(context.Context) *auditstore.SignedHead {
	return func(ctx context.Context) *auditstore.SignedHead {
		sh, err := h.fetch(ctx)
		if err != nil && ctx.Err() == nil {
			e.set.Logger.Warn("This S3 digest carries no audit store head: the store did not answer", zap.Error(err))
		}
		return sh
	}
}

// digestPeriodically writes a digest every interval, also when nothing was
// written, so a missing digest shows as a gap in time.
func (e *s3Audit) digestPeriodically(ctx context.Context) {
	ticker := time.NewTicker(e.cfg.Digest.Interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			e.writeDigest(ctx)
		}
	}
}

func (e *s3Audit) writeDigest(ctx context.Context) {
	written, err := e.digester.emit(ctx)
	if err != nil {
		if ctx.Err() == nil {
			e.set.Logger.Warn("Writing the S3 digest failed; the next attempt lists the same objects", zap.Error(err))
		}
		return
	}
	if written > 0 {
		e.telemetry.ExporterS3auditDigests.Add(ctx, int64(written))
	}
}

// shutdown stops the timer and writes a last digest (when S3 answers
// within ctx; otherwise the next start lists what is left). Safe twice and
// without start.
func (e *s3Audit) shutdown(ctx context.Context) error {
	var err error
	e.shutdownOnce.Do(func() {
		if e.cancel != nil {
			e.cancel()
		}
		e.background.Wait()
		if e.digester != nil {
			e.writeDigest(ctx)
			err = e.digester.close()
		}
		e.transport.closeIdle()
		e.telemetry.Shutdown()
	})
	return err
}

// pushLogs writes one object per key prefix and, once all are written,
// records them for the next digest. A failure returns an error: the
// collector's queue retries the whole request, and the objects already
// written are written again under the same keys (content-addressed), so
// each is listed once.
func (e *s3Audit) pushLogs(ctx context.Context, ld plog.Logs) error {
	objects := e.groupByPrefix(ld)
	entries := make([]s3digest.Object, 0, len(objects))
	for _, o := range objects {
		content, err := o.seal(e.cfg.FilePrefix, e.encoding, e.cfg.EncodingFileExtension)
		if err != nil {
			return err
		}
		contentType := "application/gzip"
		if e.encoding != nil {
			contentType = "application/octet-stream"
		}
		o.entry.Protection, err = e.cfg.Archive.Put(ctx, e.client, &s3.PutObjectInput{
			Bucket:      aws.String(e.cfg.Bucket),
			Key:         aws.String(o.entry.Key),
			Body:        bytes.NewReader(content),
			ContentType: aws.String(contentType),
		}, time.Now())
		if err != nil {
			return fmt.Errorf("s3audit: writing s3://%s/%s: %w", e.cfg.Bucket, o.entry.Key, err)
		}
		entries = append(entries, o.entry)
	}
	if err := e.digester.record(entries); err != nil {
		return errors.Join(errors.New("s3audit: recording the objects for the digest"), err)
	}
	e.telemetry.ExporterS3auditObjects.Add(ctx, int64(len(entries)))
	return nil
}
