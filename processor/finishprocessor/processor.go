// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package finishprocessor

import (
	"context"
	"sync"
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
	var mu sync.Mutex
	var timer *time.Timer
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		timer = time.AfterFunc(p.grace, cancel)
		mu.Unlock()
	})
	defer func() {
		stop()
		mu.Lock()
		if timer != nil {
			timer.Stop()
		}
		mu.Unlock()
	}()
	return p.next.ConsumeLogs(detached, ld)
}
