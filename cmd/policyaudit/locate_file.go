// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
)

// locateFile reads what the file exporter wrote with the jsonl_encoding
// extension, one canonical record per line; with group_by, every partition
// file (or only --date's).
func locateFile(ctx context.Context, use exporterUse, cid string, opts locateOptions) ([]located, error) {
	return findInFiles(ctx, use, byCorrelationID(cid), opts)
}

// findInFiles is locateFile for any matcher.
func findInFiles(_ context.Context, use exporterUse, m matcher, opts locateOptions) ([]located, error) {
	if componentType(str(use.Config, "encoding")) != "jsonl_encoding" {
		return nil, errors.New("only file exports written with jsonl_encoding can be searched")
	}
	pattern := str(use.Config, "path")
	if pattern == "" {
		return nil, errors.New("the exporter has no path")
	}
	if str(use.Config, "group_by", "enabled") == "true" {
		value := "*"
		if opts.Date != "" {
			value = "*date=" + opts.Date
		}
		pattern = strings.Replace(pattern, "*", value, 1)
	}
	files, err := filepath.Glob(pattern)
	if err != nil {
		return nil, err
	}
	var out []located
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		recs, err := matchingRecords(f, m)
		f.Close()
		if err != nil {
			return nil, err
		}
		for _, r := range recs {
			out = append(out, located{Where: name, Record: r})
		}
	}
	return out, nil
}
