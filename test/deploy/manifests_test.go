// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package deploy

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/policyaudit/policyaudit/internal/signing"
	"github.com/policyaudit/policyaudit/internal/testfixtures"
)

// The names every form shares.
const (
	container  = "policyaudit"
	configMap  = "policyaudit-config"
	configKey  = "relay"
	secretName = "policyaudit-keys"
	dataDir    = "/var/lib/policyaudit"
)

// imageEnv is the Containerfile's ENV: what the config's variables are in
// the container when the pod spec does not set them.
func imageEnv(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testfixtures.Root, "Containerfile"))
	require.NoError(t, err)
	env := map[string]string{}
	text := strings.ReplaceAll(string(b), "\\\n", " ")
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "ENV ")
		if !ok {
			continue
		}
		for _, kv := range strings.Fields(rest) {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
	}
	require.NotEmpty(t, env, "no ENV in the Containerfile")
	return env
}

// podSpec is a rendered form's pod template, from its Deployment.
func podSpec(t *testing.T, objs []object) (appsv1.Deployment, corev1.PodSpec) {
	t.Helper()
	for _, o := range objs {
		if o.Kind == "Deployment" {
			var d appsv1.Deployment
			decodeStrict(t, o.Name, o.YAML, &d)
			return d, d.Spec.Template.Spec
		}
	}
	t.Fatal("no Deployment")
	return appsv1.Deployment{}, corev1.PodSpec{}
}

// collectorContainer finds policyaudit's container, among the containers
// or the init containers (a native sidecar).
func collectorContainer(spec corev1.PodSpec) (corev1.Container, bool, bool) {
	for _, c := range spec.Containers {
		if c.Name == container {
			return c, false, true
		}
	}
	for _, c := range spec.InitContainers {
		if c.Name == container {
			return c, true, true
		}
	}
	return corev1.Container{}, false, false
}

// Every resource of every form decodes strictly into its API type.
func TestManifestsDecodeStrictly(t *testing.T) {
	for _, form := range forms {
		for _, o := range render(t, form) {
			var v any
			switch o.Kind {
			case "Deployment":
				v = &appsv1.Deployment{}
			case "Service":
				v = &corev1.Service{}
			case "ConfigMap":
				v = &corev1.ConfigMap{}
			case "PersistentVolumeClaim":
				v = &corev1.PersistentVolumeClaim{}
			case "OpenTelemetryCollector":
				v = &openTelemetryCollector{}
			default:
				t.Errorf("%s: %s %s has no check", form, o.Kind, o.Name)
				continue
			}
			decodeStrict(t, form+" "+o.Kind+" "+o.Name, o.YAML, v)
		}
	}
}

// The pod forms run the collector as the sidecar the README promises:
// non-root, read-only root, no capabilities, probes on health_check, the
// data volume at the image's data directory, memory settings that agree,
// the config from the ConfigMap, every variable the config needs set, and
// ports that agree with the config.
func TestPodFormsRunTheCollectorSafely(t *testing.T) {
	env := imageEnv(t)
	cfg := baseConfig(t)
	for _, form := range []string{"sidecar", "native-sidecar", "volume", "gateway"} {
		t.Run(form, func(t *testing.T) {
			objs := render(t, form)
			d, spec := podSpec(t, objs)
			c, isInit, ok := collectorContainer(spec)
			require.True(t, ok, "no %s container", container)
			if form == "native-sidecar" {
				require.True(t, isInit, "a native sidecar is an init container")
				require.NotNil(t, c.RestartPolicy)
				assert.Equal(t, corev1.ContainerRestartPolicyAlways, *c.RestartPolicy)
			}
			checkSecurity(t, spec, c)
			checkProbes(t, c, env)
			checkMemory(t, c, cfg)
			checkVolumes(t, spec, c, objs)
			checkEnv(t, c, env, cfg.env)
			checkPorts(t, c, env, objs)
			assert.GreaterOrEqual(t, *spec.TerminationGracePeriodSeconds, int64(30), "more than the 30 s the reliability tests give the collector to stop")
			if form == "volume" || form == "gateway" {
				assert.Equal(t, appsv1.RecreateDeploymentStrategyType, d.Spec.Strategy.Type, "one collector at a time on a ReadWriteOnce claim")
			}
		})
	}
}

func checkSecurity(t *testing.T, spec corev1.PodSpec, c corev1.Container) {
	t.Helper()
	nonRoot := spec.SecurityContext != nil && spec.SecurityContext.RunAsNonRoot != nil && *spec.SecurityContext.RunAsNonRoot
	if sc := c.SecurityContext; sc != nil && sc.RunAsNonRoot != nil {
		nonRoot = *sc.RunAsNonRoot
	}
	assert.True(t, nonRoot, "runAsNonRoot")
	sc := c.SecurityContext
	require.NotNil(t, sc, "the container's securityContext")
	assert.True(t, sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem, "readOnlyRootFilesystem")
	assert.True(t, sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation, "allowPrivilegeEscalation: false")
	require.NotNil(t, sc.Capabilities, "capabilities")
	assert.Equal(t, []corev1.Capability{"ALL"}, sc.Capabilities.Drop)
	assert.Empty(t, sc.Capabilities.Add)
}

func checkProbes(t *testing.T, c corev1.Container, env map[string]string) {
	t.Helper()
	health := port(t, env["POLICYAUDIT_HEALTH_ENDPOINT"])
	for name, p := range map[string]*corev1.Probe{"readiness": c.ReadinessProbe, "liveness": c.LivenessProbe} {
		require.NotNil(t, p, name)
		require.NotNil(t, p.HTTPGet, name)
		assert.Equal(t, health, p.HTTPGet.Port.IntValue(), "%s probe on health_check's port", name)
	}
}

// checkMemory: the Go runtime's soft limit below the memory_limiter's hard
// limit, both below the container's limit (config/examples/README.md).
func checkMemory(t *testing.T, c corev1.Container, cfg collectorConfig) {
	t.Helper()
	limit, ok := c.Resources.Limits[corev1.ResourceMemory]
	require.True(t, ok, "limits.memory")
	var gomemlimit string
	for _, e := range c.Env {
		if e.Name == "GOMEMLIMIT" {
			gomemlimit = e.Value
		}
	}
	mib, err := strconv.Atoi(strings.TrimSuffix(gomemlimit, "MiB"))
	require.NoError(t, err, "GOMEMLIMIT %q in MiB", gomemlimit)
	limiter := cfg.memoryLimiterMiB
	assert.Less(t, mib, limiter, "GOMEMLIMIT below memory_limiter.limit_mib")
	assert.Less(t, int64(limiter)<<20, limit.Value(), "memory_limiter.limit_mib below limits.memory")
	request := c.Resources.Requests[corev1.ResourceMemory]
	assert.Equal(t, limit.Value(), request.Value(), "requests.memory = limits.memory: the collector is not evicted first")
}

func checkVolumes(t *testing.T, spec corev1.PodSpec, c corev1.Container, objs []object) {
	t.Helper()
	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		mounts[m.MountPath] = m.Name
	}
	require.Contains(t, mounts, dataDir, "the data volume")
	require.Contains(t, mounts, "/etc/policyaudit/pod", "the ConfigMap")
	assert.Equal(t, []string{"--config", "/etc/policyaudit/pod/config.yaml"}, c.Args)
	for _, v := range spec.Volumes {
		switch v.Name {
		case mounts["/etc/policyaudit/pod"]:
			require.NotNil(t, v.ConfigMap)
			assert.Equal(t, configMap, v.ConfigMap.Name)
			assert.Equal(t, []corev1.KeyToPath{{Key: configKey, Path: "config.yaml"}}, v.ConfigMap.Items)
		case mounts[dataDir]:
			if v.PersistentVolumeClaim != nil {
				assert.True(t, has(objs, "PersistentVolumeClaim", v.PersistentVolumeClaim.ClaimName), "the claim %s is in the form", v.PersistentVolumeClaim.ClaimName)
			} else {
				assert.NotNil(t, v.EmptyDir, "data is an emptyDir or a claim")
			}
		}
	}
	assert.True(t, has(objs, "ConfigMap", configMap))
}

// checkEnv: every ${env:X} the config uses without a default is set by the
// pod spec (the Secret's keys) or the image.
func checkEnv(t *testing.T, c corev1.Container, image map[string]string, needed []string) {
	t.Helper()
	set := map[string]bool{}
	for k := range image {
		set[k] = true
	}
	for _, e := range c.Env {
		set[e.Name] = true
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			assert.Equal(t, secretName, e.ValueFrom.SecretKeyRef.Name, e.Name)
			assert.Contains(t, secretKeys, e.ValueFrom.SecretKeyRef.Key, e.Name)
		}
	}
	for _, name := range needed {
		assert.True(t, set[name], "the config needs ${env:%s}; the pod spec does not set it", name)
	}
}

func checkPorts(t *testing.T, c corev1.Container, env map[string]string, objs []object) {
	t.Helper()
	byName := map[string]int{}
	for _, p := range c.Ports {
		byName[p.Name] = int(p.ContainerPort)
	}
	assert.Equal(t, port(t, env["POLICYAUDIT_ENDPOINT"]), byName["policygateway"])
	assert.Equal(t, port(t, env["POLICYAUDIT_QUERY_ENDPOINT"]), byName["audit-query"])
	assert.Equal(t, port(t, env["POLICYAUDIT_HEALTH_ENDPOINT"]), byName["health"])
	for _, o := range objs {
		if o.Kind != "Service" {
			continue
		}
		var s corev1.Service
		decodeStrict(t, o.Name, o.YAML, &s)
		for _, p := range s.Spec.Ports {
			target, ok := byName[p.TargetPort.String()]
			assert.True(t, ok, "Service port %s targets %s, which the container does not name", p.Name, p.TargetPort.String())
			assert.Equal(t, int(p.Port), target, "Service port %s", p.Name)
		}
	}
}

// secretKeys are the keys of the Secret policyaudit-keys (README "Deploy").
var secretKeys = []string{"receiver-token", "signing-key", "id-key", "pii-hash-key"}

func has(objs []object, kind, name string) bool {
	for _, o := range objs {
		if o.Kind == kind && o.Name == name {
			return true
		}
	}
	return false
}

func port(t *testing.T, endpoint string) int {
	t.Helper()
	i := strings.LastIndexByte(endpoint, ':')
	require.GreaterOrEqual(t, i, 0, "endpoint %q", endpoint)
	p, err := strconv.Atoi(endpoint[i+1:])
	require.NoError(t, err, endpoint)
	return p
}

// collectorConfig is what the checks need from deploy/kubernetes/base.
type collectorConfig struct {
	path             string
	raw              map[string]any
	env              []string // ${env:X} without a default
	memoryLimiterMiB int
}

var envRef = regexp.MustCompile(`\$\{env:([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}`)

func baseConfig(t *testing.T) collectorConfig {
	t.Helper()
	path := filepath.Join(manifests, "base", "config.yaml")
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	c := collectorConfig{path: path}
	require.NoError(t, yaml.Unmarshal(b, &c.raw))
	seen := map[string]bool{}
	for _, m := range envRef.FindAllStringSubmatch(string(b), -1) {
		if m[2] == "" && !seen[m[1]] {
			seen[m[1]] = true
			c.env = append(c.env, m[1])
		}
	}
	var limiter struct {
		Processors struct {
			MemoryLimiter struct {
				LimitMiB int `json:"limit_mib"`
			} `json:"memory_limiter"`
		} `json:"processors"`
	}
	require.NoError(t, yaml.Unmarshal(b, &limiter))
	c.memoryLimiterMiB = limiter.Processors.MemoryLimiter.LimitMiB
	require.Positive(t, c.memoryLimiterMiB, "memory_limiter.limit_mib")
	return c
}

// The config of every form is valid for the distribution, with the image's
// environment and the Secret's keys as the pod would have them.
func TestTheConfigIsValid(t *testing.T) {
	bin := os.Getenv("POLICYAUDIT_BIN")
	if bin == "" {
		t.Skip("POLICYAUDIT_BIN is not set (make test sets it)")
	}
	cfg := baseConfig(t)
	env := os.Environ()
	for k, v := range imageEnv(t) {
		env = append(env, k+"="+v)
	}
	env = append(env, secretEnv(t)...)
	cmd := exec.Command(bin, "validate", "--config", cfg.path)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
}

// secretEnv is what the Secret gives the container, with fresh values.
func secretEnv(t *testing.T) []string {
	t.Helper()
	priv, _, err := signing.GenerateKey()
	require.NoError(t, err)
	return []string{
		"POLICYAUDIT_RECEIVER_TOKEN=" + randomHex(t),
		"POLICYAUDIT_SIGNING_KEY=" + string(priv),
		"POLICYAUDIT_ID_KEY=" + randomHex(t),
		"POLICYAUDIT_PII_HASH_KEY=" + randomHex(t),
	}
}
