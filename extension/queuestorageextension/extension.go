// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package queuestorageextension

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension/xextension/storage"
)

type queueStorage struct {
	cfg *Config

	mu      sync.Mutex
	clients map[*client]struct{}
}

var _ storage.Extension = (*queueStorage)(nil)

func newQueueStorage(cfg *Config) *queueStorage {
	return &queueStorage{cfg: cfg, clients: map[*client]struct{}{}}
}

// Start creates the directory when configured to; databases open when a
// component asks for its client.
func (s *queueStorage) Start(context.Context, component.Host) error {
	if s.cfg.CreateDirectory {
		return os.MkdirAll(s.cfg.Directory, 0o700)
	}
	return nil
}

// Shutdown closes the clients their components left open; safe twice.
func (s *queueStorage) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	open := make([]*client, 0, len(s.clients))
	for c := range s.clients {
		open = append(open, c)
	}
	s.mu.Unlock()
	var errs []error
	for _, c := range open {
		errs = append(errs, c.Close(ctx))
	}
	return errors.Join(errs...)
}

// GetClient opens the storage of one component: <name>.db and the value
// files under <name>.values, named as file_storage names its files, so the
// same component finds the same storage after a restart.
func (s *queueStorage) GetClient(_ context.Context, kind component.Kind, id component.ID, storageName string) (storage.Client, error) {
	name := fmt.Sprintf("%s_%s_%s", strings.ToLower(kind.String()), id.Type(), id.Name())
	if storageName != "" {
		name += "_" + storageName
	}
	base := filepath.Join(s.cfg.Directory, sanitize(name))
	var c *client
	c, err := openClient(base+".db", base+".values", s.cfg, func() {
		s.mu.Lock()
		delete(s.clients, c)
		s.mu.Unlock()
	})
	if err != nil {
		return nil, fmt.Errorf("queue_storage %s: %w", name, err)
	}
	s.mu.Lock()
	s.clients[c] = struct{}{}
	s.mu.Unlock()
	return c, nil
}

// sanitize keeps letters, digits, '.', '-' and '_' and writes every other
// character (and '~') as ~ and its code point, so distinct names stay
// distinct file names.
func sanitize(name string) string {
	var b strings.Builder
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			b.WriteRune(r)
		default:
			fmt.Fprintf(&b, "~%04X", r)
		}
	}
	return b.String()
}
