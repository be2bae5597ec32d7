// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package policygatewayreceiver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.uber.org/zap"

	"github.com/policyaudit/policyaudit/internal/dialects"
	"github.com/policyaudit/policyaudit/internal/jsonbody"
)

type policyGatewayReceiver struct {
	cfg      *Config
	set      receiver.Settings
	next     consumer.Logs
	obsrecv  *receiverhelper.ObsReport
	limits   jsonbody.Limits
	budget   *byteBudget
	server   *http.Server
	addr     string // bound address, for tests that listen on port 0
	shutdown sync.Once
	serving  sync.WaitGroup
}

func newReceiver(set receiver.Settings, cfg *Config, next consumer.Logs) (*policyGatewayReceiver, error) {
	obsrecv, err := receiverhelper.NewObsReport(receiverhelper.ObsReportSettings{
		ReceiverID:             set.ID,
		Transport:              "http",
		ReceiverCreateSettings: set,
	})
	if err != nil {
		return nil, err
	}
	return &policyGatewayReceiver{
		cfg:     cfg,
		set:     set,
		next:    next,
		obsrecv: obsrecv,
		limits: jsonbody.Limits{
			MaxDepth:        cfg.MaxNestingDepth,
			MaxStringLength: cfg.MaxStringLength,
			MaxRecords:      cfg.MaxRecordsPerRequest,
		},
		budget: &byteBudget{limit: cfg.MaxInFlightBytes},
	}, nil
}

// Start listens and serves in the background; it returns once the listener
// is bound, so a port conflict fails the collector's start.
func (r *policyGatewayReceiver) Start(ctx context.Context, host component.Host) error {
	mux := http.NewServeMux()
	var paths []string
	for _, d := range dialects.All {
		if d.Path != "" {
			mux.Handle(d.Path, r.handler(d))
			paths = append(paths, d.Path)
		}
	}
	notFound := "no such endpoint; use " + strings.Join(paths[:len(paths)-1], ", ") + " or " + paths[len(paths)-1]
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusNotFound, errorBody{Error: notFound})
	})

	var err error
	r.server, err = r.cfg.ToServer(ctx, host.GetExtensions(), r.set.TelemetrySettings, mux,
		confighttp.WithErrorHandler(func(w http.ResponseWriter, _ *http.Request, msg string, status int) {
			writeError(w, status, errorBody{Error: msg})
		}))
	if err != nil {
		return fmt.Errorf("policygateway: creating the HTTP server: %w", err)
	}
	ln, err := r.cfg.ToListener(ctx)
	if err != nil {
		return fmt.Errorf("policygateway: listening on %s: %w", r.cfg.Endpoint, err)
	}
	r.addr = ln.Addr().String()
	r.set.Logger.Info("Receiving policy decisions and admin audit events", zap.String("endpoint", ln.Addr().String()))

	r.serving.Add(1)
	go func() {
		defer r.serving.Done()
		if serr := r.server.Serve(ln); serr != nil && !errors.Is(serr, http.ErrServerClosed) {
			componentstatus.ReportStatus(host, componentstatus.NewFatalErrorEvent(serr))
		}
	}()
	return nil
}

// Shutdown stops accepting requests and waits for those in flight, within
// ctx's deadline. It is safe before Start and more than once.
func (r *policyGatewayReceiver) Shutdown(ctx context.Context) error {
	var err error
	r.shutdown.Do(func() {
		if r.server == nil {
			return
		}
		err = r.server.Shutdown(ctx)
		r.serving.Wait()
		r.set.Logger.Info("Stopped receiving policy decisions and admin audit events")
	})
	return err
}
