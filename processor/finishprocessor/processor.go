// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package finishprocessor

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/plog"
)

type finishProcessor struct {
	grace time.Duration
	next  consumer.Logs
}

func (p *finishProcessor) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: false}
}

func (*finishProcessor) Start(context.Context, component.Host) error { return nil }

func (*finishProcessor) Shutdown(context.Context) error { return nil }

// ConsumeLogs hands ld on with a context that ends grace after the
// caller's ends (or when the rest of the pipeline returns), not at once.
func (p *finishProcessor) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	detached, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	stop := context.AfterFunc(ctx, func() {
		grace := time.NewTimer(p.grace)
		defer grace.Stop()
		select {
		case <-grace.C:
			cancel()
		case <-detached.Done(): // the batch ended first
		}
	})
	defer stop()
	return p.next.ConsumeLogs(detached, ld)
}
