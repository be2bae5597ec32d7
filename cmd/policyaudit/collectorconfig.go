// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// collectorConfig is the part of a collector configuration the lookup
// needs: the components and the pipelines that use them.
type collectorConfig map[string]any

// envRef is the collector's ${env:NAME} and ${env:NAME:-default} syntax.
var envRef = regexp.MustCompile(`\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}`)

// loadCollectorConfig reads and merges collector config files the way
// `--config a --config b` does: maps merge, later values win, and ${env:...}
// references resolve from the environment.
func loadCollectorConfig(paths []string) (collectorConfig, error) {
	merged := map[string]any{}
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		text := envRef.ReplaceAllStringFunc(string(raw), func(ref string) string {
			m := envRef.FindStringSubmatch(ref)
			if v, ok := os.LookupEnv(m[1]); ok && v != "" {
				return v
			}
			return m[2]
		})
		var doc map[string]any
		if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		mergeMaps(merged, doc)
	}
	return merged, nil
}

func mergeMaps(dst, src map[string]any) {
	for k, v := range src {
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				mergeMaps(dm, sm)
				continue
			}
		}
		dst[k] = v
	}
}

// exporterUse is one exporter of a pipeline, with the policydecision
// processor that shapes its records in that pipeline.
type exporterUse struct {
	ID        string
	Type      string
	Config    map[string]any
	Processor map[string]any // nil when the pipeline has none
}

// exporters lists the exporters used by logs pipelines, once each, in
// pipeline order.
func (c collectorConfig) exporters() []exporterUse {
	var out []exporterUse
	seen := map[string]bool{}
	pipelines := mapAt(c, "service", "pipelines")
	for _, name := range sortedKeys(pipelines) {
		if !strings.HasPrefix(name, "logs") {
			continue
		}
		p, _ := pipelines[name].(map[string]any)
		var proc map[string]any
		for _, id := range strings1(p["processors"]) {
			if componentType(id) == "policydecision" {
				proc = mapAt(c, "processors", id)
				if proc == nil {
					proc = map[string]any{}
				}
			}
		}
		for _, id := range strings1(p["exporters"]) {
			if seen[id] {
				continue
			}
			seen[id] = true
			out = append(out, exporterUse{ID: id, Type: componentType(id), Config: mapAt(c, "exporters", id), Processor: proc})
		}
	}
	return out
}

func componentType(id string) string {
	t, _, _ := strings.Cut(id, "/")
	return t
}

// mapAt walks nested maps; a missing or non-map step gives nil.
func mapAt(m map[string]any, keys ...string) map[string]any {
	for _, k := range keys {
		next, ok := m[k].(map[string]any)
		if !ok {
			return nil
		}
		m = next
	}
	return m
}

// str reads a string (or a scalar as text) at a nested key path.
func str(m map[string]any, keys ...string) string {
	last := keys[len(keys)-1]
	parent := mapAt(m, keys[:len(keys)-1]...)
	if parent == nil || parent[last] == nil {
		return ""
	}
	return fmt.Sprint(parent[last])
}

func strings1(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, e := range list {
		out = append(out, fmt.Sprint(e))
	}
	return out
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
