// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package deploy

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/policyaudit/policyaudit/internal/signing"
	"github.com/policyaudit/policyaudit/internal/testfixtures"
)

// collectorConfig is a collector config as a pod runs it: the files of its
// --config flags, merged as the collector merges them.
type collectorConfig struct {
	files            []string       // on this machine
	raw              map[string]any // merged, ${env:...} not expanded
	env              []string       // ${env:X} without a default
	memoryLimiterMiB int
}

var envRef = regexp.MustCompile(`\$\{env:([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`)

// loadConfig reads config files and merges them in order, with confmap's
// Merge, as the collector's resolver merges its --config flags (a later
// file's maps merged in, its lists and values replacing).
func loadConfig(t *testing.T, files ...string) collectorConfig {
	t.Helper()
	require.NotEmpty(t, files)
	c := collectorConfig{files: files}
	merged := confmap.New()
	seen := map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		var raw map[string]any
		require.NoError(t, yaml.Unmarshal(b, &raw), f)
		if len(files) == 1 {
			c.raw = raw
		}
		require.NoError(t, merged.Merge(confmap.NewFromStringMap(raw)), f)
		for _, m := range envRef.FindAllStringSubmatch(string(b), -1) {
			if m[2] == "" && !seen[m[1]] {
				seen[m[1]] = true
				c.env = append(c.env, m[1])
			}
		}
	}
	if c.raw == nil {
		c.raw = merged.ToStringMap()
	}
	limit, ok := lookup(c.raw, "processors", "memory_limiter", "limit_mib").(float64)
	require.True(t, ok, "memory_limiter.limit_mib in %v", files)
	c.memoryLimiterMiB = int(limit)
	require.Positive(t, c.memoryLimiterMiB, "memory_limiter.limit_mib")
	return c
}

// baseConfig is deploy/kubernetes/base/config.yaml, the ConfigMap's config.
func baseConfig(t *testing.T) collectorConfig {
	t.Helper()
	return loadConfig(t, filepath.Join(manifests, "base", "config.yaml"))
}

// imageExamples is where the image keeps config/examples: the Containerfile
// copies the build context's config/ to /etc/policyaudit/, and make image
// puts config/examples/*.yaml in the context's config/examples/.
const imageExamples = "/etc/policyaudit/examples/"

// containerConfig is the config the collector container runs: each
// --config is a file of the image's config/examples (read from this
// checkout, which the image is built from) or a file of a ConfigMap the
// form mounts (read from the rendered ConfigMap).
func containerConfig(t *testing.T, spec corev1.PodSpec, c corev1.Container, objs []object) collectorConfig {
	t.Helper()
	require.True(t, len(c.Args) >= 2 && len(c.Args)%2 == 0, "args %v: --config FILE pairs", c.Args)
	var files []string
	for i := 0; i < len(c.Args); i += 2 {
		require.Equal(t, "--config", c.Args[i], "args %v", c.Args)
		path := c.Args[i+1]
		if name, ok := strings.CutPrefix(path, imageExamples); ok {
			checkImageHasExamples(t)
			files = append(files, filepath.Join(testfixtures.Root, "config", "examples", name))
			continue
		}
		files = append(files, configMapFile(t, spec, c, objs, path))
	}
	return loadConfig(t, files...)
}

func checkImageHasExamples(t *testing.T) {
	t.Helper()
	for file, line := range map[string]string{
		"Containerfile": "COPY config/ /etc/policyaudit/",
		"Makefile":      "cp config/examples/*.yaml $(BIN)/image/config/examples/",
	} {
		b, err := os.ReadFile(filepath.Join(testfixtures.Root, file))
		require.NoError(t, err)
		require.Contains(t, string(b), line, "the image no longer holds config/examples at %s", imageExamples)
	}
}

// configMapFile finds the ConfigMap volume the container reads path from
// and writes that key of the rendered ConfigMap to a file.
func configMapFile(t *testing.T, spec corev1.PodSpec, c corev1.Container, objs []object, path string) string {
	t.Helper()
	for _, m := range c.VolumeMounts {
		rel, ok := strings.CutPrefix(path, strings.TrimSuffix(m.MountPath, "/")+"/")
		if !ok {
			continue
		}
		for _, v := range spec.Volumes {
			if v.Name != m.Name {
				continue
			}
			require.NotNil(t, v.ConfigMap, "%s is not from a ConfigMap", path)
			key := rel
			for _, it := range v.ConfigMap.Items {
				if it.Path == rel {
					key = it.Key
				}
			}
			for _, o := range objs {
				if o.Kind != "ConfigMap" || o.Name != v.ConfigMap.Name {
					continue
				}
				var cm corev1.ConfigMap
				decodeStrict(t, o.Name, o.YAML, &cm)
				data, ok := cm.Data[key]
				require.True(t, ok, "the ConfigMap %s has no key %s", cm.Name, key)
				f := filepath.Join(t.TempDir(), filepath.Base(path))
				require.NoError(t, os.WriteFile(f, []byte(data), 0o600))
				return f
			}
			t.Fatalf("the ConfigMap %s is not in the form", v.ConfigMap.Name)
		}
	}
	t.Fatalf("--config %s: no volume of the container holds it, and it is not one of the image's examples", path)
	return ""
}

// lookup walks nested mappings.
func lookup(m any, keys ...string) any {
	for _, k := range keys {
		mm, ok := m.(map[string]any)
		if !ok {
			return nil
		}
		m = mm[k]
	}
	return m
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// strs is a YAML list of strings.
func strs(v any) []string {
	var out []string
	list, _ := v.([]any)
	for _, x := range list {
		out = append(out, str(x))
	}
	return out
}

// expand replaces each ${env:X} and ${env:X:-default} as the collector's
// env provider does: X's value when X is set (even empty), else the default.
func expand(s string, env map[string]string) string {
	return envRef.ReplaceAllStringFunc(s, func(ref string) string {
		m := envRef.FindStringSubmatch(ref)
		if v, ok := env[m[1]]; ok {
			return v
		}
		return m[3]
	})
}

// extensions are the extensions the config starts.
func (c collectorConfig) extensions() []string {
	return strs(lookup(c.raw, "service", "extensions"))
}

// inPipelines are the receivers or exporters (kind) some pipeline uses.
func (c collectorConfig) inPipelines(kind string) []string {
	var out []string
	pipelines, _ := lookup(c.raw, "service", "pipelines").(map[string]any)
	for _, p := range pipelines {
		for _, id := range strs(lookup(p, kind)) {
			if !slices.Contains(out, id) {
				out = append(out, id)
			}
		}
	}
	return out
}

// listeners are the endpoints the running config listens on, by the name
// the forms give their container port.
func (c collectorConfig) listeners(env map[string]string) map[string]string {
	out := map[string]string{}
	if slices.Contains(c.inPipelines("receivers"), "policygateway") {
		out["policygateway"] = expand(str(lookup(c.raw, "receivers", "policygateway", "endpoint")), env)
	}
	if slices.Contains(c.extensions(), "auditstore") {
		if q := str(lookup(c.raw, "extensions", "auditstore", "query", "endpoint")); q != "" {
			out["audit-query"] = expand(q, env)
		}
	}
	if slices.Contains(c.extensions(), "health_check") {
		out["health"] = expand(str(lookup(c.raw, "extensions", "health_check", "endpoint")), env)
	}
	return out
}

// writes are the paths the running config writes on local disk: the
// persistent queue, an audit store in a file, s3audit's digest state.
func (c collectorConfig) writes(env map[string]string) []string {
	var out []string
	ext := c.extensions()
	if slices.Contains(ext, "queue_storage") {
		out = append(out, expand(str(lookup(c.raw, "extensions", "queue_storage", "directory")), env))
	}
	if slices.Contains(ext, "auditstore") && str(lookup(c.raw, "extensions", "auditstore", "backend")) != "postgres" {
		out = append(out, expand(str(lookup(c.raw, "extensions", "auditstore", "path")), env))
	}
	for _, id := range c.inPipelines("exporters") {
		if id == "s3audit" || strings.HasPrefix(id, "s3audit/") {
			out = append(out, expand(str(lookup(c.raw, "exporters", id, "digest", "directory")), env))
		}
	}
	return out
}

// sources stand in for the Secrets and ConfigMaps the forms read, by kind
// and name, with a value for each key: fresh keys, and placeholders of the
// form each setting takes. deploy/kubernetes/README.md says how to create
// them (TestTheREADMECreatesWhatTheFormsRead).
func sources(t *testing.T) map[string]map[string]string {
	t.Helper()
	priv, _, err := signing.GenerateKey()
	require.NoError(t, err)
	return map[string]map[string]string{
		"Secret/policyaudit-keys": {
			"receiver-token": randomHex(t), "signing-key": string(priv),
			"id-key": randomHex(t), "pii-hash-key": randomHex(t),
		},
		"Secret/policyaudit-fleet": {
			"postgres-dsn":     "postgres://policyaudit@postgres.example:5432/policyaudit?sslmode=verify-full",
			"splunk-hec-token": "00000000-0000-0000-0000-000000000000",
		},
		"ConfigMap/policyaudit-fleet": {
			"kafka-brokers":       "kafka-0.kafka:9092,kafka-1.kafka:9092,kafka-2.kafka:9092",
			"s3-bucket":           "policy-audit",
			"splunk-hec-endpoint": "https://splunk.example:8088/services/collector",
		},
	}
}

// podEnvironment is the container's environment as the kubelet would set
// it: the image's ENV, then the pod spec's, valueFrom resolved from the
// sources and the downward API (podName). Keys the sources lack fail.
func podEnvironment(t *testing.T, c corev1.Container, image map[string]string, src map[string]map[string]string, podName string) map[string]string {
	t.Helper()
	env := map[string]string{}
	for k, v := range image {
		env[k] = v
	}
	for _, e := range c.Env {
		switch from := e.ValueFrom; {
		case from == nil:
			env[e.Name] = e.Value
		case from.SecretKeyRef != nil:
			v, ok := src["Secret/"+from.SecretKeyRef.Name][from.SecretKeyRef.Key]
			if assert.True(t, ok, "%s: the Secret %s has no key %s", e.Name, from.SecretKeyRef.Name, from.SecretKeyRef.Key) {
				env[e.Name] = v
			}
		case from.ConfigMapKeyRef != nil:
			v, ok := src["ConfigMap/"+from.ConfigMapKeyRef.Name][from.ConfigMapKeyRef.Key]
			if assert.True(t, ok, "%s: the ConfigMap %s has no key %s", e.Name, from.ConfigMapKeyRef.Name, from.ConfigMapKeyRef.Key) {
				env[e.Name] = v
			}
		case from.FieldRef != nil && from.FieldRef.FieldPath == "metadata.name":
			env[e.Name] = podName
		default:
			t.Errorf("%s: a source the test does not know", e.Name)
		}
	}
	return env
}

// secretFiles are the files the container's Secret volumes hold, by path
// in the container, with their content.
func secretFiles(spec corev1.PodSpec, c corev1.Container, src map[string]map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range c.VolumeMounts {
		for _, v := range spec.Volumes {
			if v.Name != m.Name || v.Secret == nil {
				continue
			}
			for _, it := range v.Secret.Items {
				if value, ok := src["Secret/"+v.Secret.SecretName][it.Key]; ok {
					out[filepath.Join(m.MountPath, it.Path)] = value
				}
			}
		}
	}
	return out
}
