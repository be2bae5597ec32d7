// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package queuestorageextension

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
)

// blobDir holds the values too large for the database, one file each,
// named by a number never used before in the directory.
type blobDir struct {
	path  string
	fsync bool
	next  atomic.Uint64
	// sync makes a file's content, or a directory's names, durable; a
	// test replaces it to see the order of syncs and commits.
	sync func(*os.File) error
}

// openBlobDir opens (creating) the directory, removes the files the
// database does not name (written by a batch that never committed, or
// replaced by one that did before their removal), and numbers new files
// after the highest name found.
func openBlobDir(path string, fsync bool, referenced map[string]bool) (*blobDir, error) {
	if err := os.MkdirAll(path, 0o700); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, err
	}
	d := &blobDir{path: path, fsync: fsync, sync: (*os.File).Sync}
	var highest uint64
	for _, e := range entries {
		n, perr := strconv.ParseUint(e.Name(), 16, 64)
		if perr == nil {
			highest = max(highest, n)
		}
		if !referenced[e.Name()] {
			if err := os.Remove(filepath.Join(path, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, err
			}
		}
	}
	d.next.Store(highest)
	return d, nil
}

// write puts value in a new file, synced when fsync is on, and returns its
// name.
func (d *blobDir) write(value []byte) (string, error) {
	name := fmt.Sprintf("%016x", d.next.Add(1))
	f, err := os.OpenFile(filepath.Join(d.path, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", err
	}
	_, err = f.Write(value)
	if err == nil && d.fsync {
		err = d.sync(f)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return "", err
	}
	return name, nil
}

// syncDir makes new files' names durable before a transaction names them.
func (d *blobDir) syncDir() error {
	if !d.fsync {
		return nil
	}
	dir, err := os.Open(d.path)
	if err != nil {
		return err
	}
	err = d.sync(dir)
	if cerr := dir.Close(); err == nil {
		err = cerr
	}
	return err
}

func (d *blobDir) read(name string) ([]byte, error) {
	if !validName(name) {
		return nil, fmt.Errorf("value file name %q: not one this storage writes", name)
	}
	return os.ReadFile(filepath.Join(d.path, name))
}

// remove deletes files no committed value names. A failure only leaves a
// file behind, which the next open removes. A name this storage would not
// have written (a database edited on disk: "../../x") is never a path.
func (d *blobDir) remove(names []string) {
	for _, n := range names {
		if validName(n) {
			_ = os.Remove(filepath.Join(d.path, n))
		}
	}
}

// validName reports whether name is one write gives: 16 hex digits.
func validName(name string) bool {
	if len(name) != 16 {
		return false
	}
	_, err := strconv.ParseUint(name, 16, 64)
	return err == nil
}
