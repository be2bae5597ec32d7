// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package queuestorageextension

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"go.etcd.io/bbolt"
	"go.opentelemetry.io/collector/extension/xextension/storage"
)

var bucket = []byte("default")

// A value in the database starts with a tag: the value itself follows, or
// the name of the blob file holding it.
const (
	tagInline byte = 0
	tagBlob   byte = 1
)

// client is one component's storage: keys and small values in a bbolt
// database, each large value in a file of its own that the database names.
//
// The exporter queue stores each request under a new key and rewrites a
// few small keys (read and write indexes, the requests in flight) on every
// offer, read and completion. In a bbolt database alone a small key shares
// a leaf with a neighbouring request, so each of those rewrites copies and
// writes the whole request again: three or more writes of every request,
// and as many allocations of its size. Here a request is written once, to
// its file, and the database's pages stay small.
//
// A batch is atomic: its new files are written (and synced) before the
// transaction that names them commits, and the files it replaced are
// removed only after; a crash in between leaves files nothing names, which
// the next open removes.
type client struct {
	db     *bbolt.DB
	blobs  *blobDir
	inline int

	// files guards blob files against removal while a reader is between
	// reading a name from the database and reading the file.
	files sync.RWMutex

	closeOnce sync.Once
	closeErr  error
	onClose   func()
}

func openClient(dbPath, blobPath string, cfg *Config, onClose func()) (*client, error) {
	db, err := bbolt.Open(dbPath, 0o600, &bbolt.Options{
		Timeout:        cfg.Timeout,
		NoSync:         !cfg.FSync,
		NoFreelistSync: true,
		FreelistType:   bbolt.FreelistMapType,
	})
	if err != nil {
		return nil, err
	}
	c := &client{db: db, inline: cfg.InlineLimit, onClose: onClose}
	referenced := map[string]bool{}
	err = db.Update(func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucket)
		if err != nil {
			return err
		}
		return b.ForEach(func(_, v []byte) error {
			if len(v) > 0 && v[0] == tagBlob {
				referenced[string(v[1:])] = true
			}
			return nil
		})
	})
	if err == nil {
		c.blobs, err = openBlobDir(blobPath, cfg.FSync, referenced)
	}
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	return c, nil
}

// Get returns the value of key, or nil when there is none.
func (c *client) Get(ctx context.Context, key string) ([]byte, error) {
	op := &storage.Operation{Type: storage.Get, Key: key}
	if err := c.Batch(ctx, op); err != nil {
		return nil, err
	}
	return op.Value, nil
}

// Set stores value under key.
func (c *client) Set(ctx context.Context, key string, value []byte) error {
	return c.Batch(ctx, storage.SetOperation(key, value))
}

// Delete removes key.
func (c *client) Delete(ctx context.Context, key string) error {
	return c.Batch(ctx, storage.DeleteOperation(key))
}

// Batch applies ops in order, all or none; a Get sees the Sets before it.
func (c *client) Batch(ctx context.Context, ops ...*storage.Operation) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	written, err := c.writeBlobs(ops)
	if err != nil {
		return err
	}
	readOnly := len(written) == 0 && onlyGets(ops)
	var replaced []string
	c.files.RLock()
	apply := func(tx *bbolt.Tx) error {
		replaced = replaced[:0]
		b := tx.Bucket(bucket)
		next := 0
		for _, op := range ops {
			switch op.Type {
			case storage.Get:
				v, err := c.value(b.Get([]byte(op.Key)))
				if err != nil {
					return fmt.Errorf("get %q: %w", op.Key, err)
				}
				op.Value = v
			case storage.Set:
				replaced = appendBlob(replaced, b.Get([]byte(op.Key)))
				var stored []byte
				if len(op.Value) > c.inline {
					stored = append([]byte{tagBlob}, written[next]...)
					next++
				} else {
					stored = append([]byte{tagInline}, op.Value...)
				}
				if err := b.Put([]byte(op.Key), stored); err != nil {
					return err
				}
			case storage.Delete:
				replaced = appendBlob(replaced, b.Get([]byte(op.Key)))
				if err := b.Delete([]byte(op.Key)); err != nil {
					return err
				}
			default:
				return fmt.Errorf("wrong operation type %d", op.Type)
			}
		}
		return nil
	}
	if readOnly {
		err = c.db.View(apply)
	} else {
		err = c.db.Update(apply)
	}
	c.files.RUnlock()
	if err != nil {
		c.blobs.remove(written) // named by nothing: the transaction did not commit
		return err
	}
	if len(replaced) > 0 {
		c.files.Lock()
		c.blobs.remove(replaced)
		c.files.Unlock()
	}
	return nil
}

// writeBlobs writes the values too large to keep in the database to new
// files, in the order of ops, and returns their names.
func (c *client) writeBlobs(ops []*storage.Operation) ([]string, error) {
	var names []string
	for _, op := range ops {
		if op.Type != storage.Set || len(op.Value) <= c.inline {
			continue
		}
		name, err := c.blobs.write(op.Value)
		if err != nil {
			c.blobs.remove(names)
			return nil, err
		}
		names = append(names, name)
	}
	if len(names) > 0 {
		if err := c.blobs.syncDir(); err != nil {
			c.blobs.remove(names)
			return nil, err
		}
	}
	return names, nil
}

// value decodes a stored value (a copy: bbolt's is valid only within the
// transaction).
func (c *client) value(stored []byte) ([]byte, error) {
	if len(stored) == 0 {
		return nil, nil
	}
	switch stored[0] {
	case tagInline:
		return append([]byte{}, stored[1:]...), nil
	case tagBlob:
		return c.blobs.read(string(stored[1:]))
	}
	return nil, fmt.Errorf("unknown value tag %d", stored[0])
}

func appendBlob(names []string, stored []byte) []string {
	if len(stored) > 0 && stored[0] == tagBlob {
		return append(names, string(stored[1:]))
	}
	return names
}

func onlyGets(ops []*storage.Operation) bool {
	for _, op := range ops {
		if op.Type != storage.Get {
			return false
		}
	}
	return true
}

// Close closes the database; safe to call more than once.
func (c *client) Close(context.Context) error {
	c.closeOnce.Do(func() {
		c.closeErr = c.db.Close()
		if errors.Is(c.closeErr, bbolt.ErrDatabaseNotOpen) {
			c.closeErr = nil
		}
		if c.onClose != nil {
			c.onClose()
		}
	})
	return c.closeErr
}
