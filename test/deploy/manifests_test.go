// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package deploy

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"

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
			case "PodDisruptionBudget":
				v = &policyv1.PodDisruptionBudget{}
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

// dataKind is what a pod form mounts at the image's data directory.
type dataKind int

const (
	noData dataKind = iota
	emptyDirData
	claimData
)

// podForms are the forms whose Deployment runs the collector, with what
// each keeps in dataDir.
var podForms = []struct {
	name string
	data dataKind
}{
	{"sidecar", emptyDirData},
	{"native-sidecar", emptyDirData},
	{"volume", claimData},
	{"gateway", claimData},
	{"tier", emptyDirData},
	{"sidecar-kafka", noData},
}

// podName is a name the ReplicaSet could give a pod of d.
func podName(d appsv1.Deployment) string { return d.Name + "-5d8f7c9b4-x2x7q" }

// The pod forms run the collector as the README promises: UID 10001,
// non-root, read-only root, no capabilities, RuntimeDefault seccomp, probes
// on health_check, a container port for each endpoint the config listens
// on and none other, whatever the config writes on the data volume (and no
// data volume where it writes nothing), the data policy applied to what the
// gateway sends, memory settings that agree, every
// variable the config needs set from the image, the pod spec, a Secret or
// ConfigMap the README creates or the downward API, and Services and
// PodDisruptionBudgets that select the pods.
func TestPodFormsRunTheCollectorSafely(t *testing.T) {
	image := imageEnv(t)
	src := sources(t)
	for _, f := range podForms {
		t.Run(f.name, func(t *testing.T) {
			objs := render(t, f.name)
			d, spec := podSpec(t, objs)
			c, isInit, ok := collectorContainer(spec)
			require.True(t, ok, "no %s container", container)
			if f.name == "native-sidecar" {
				require.True(t, isInit, "a native sidecar is an init container")
				require.NotNil(t, c.RestartPolicy)
				assert.Equal(t, corev1.ContainerRestartPolicyAlways, *c.RestartPolicy)
			}
			cfg := containerConfig(t, spec, c, objs)
			env := podEnvironment(t, c, image, src, podName(d))
			checkPodSecurity(t, spec, c)
			checkSecurity(t, spec, c)
			listen := checkPorts(t, c, cfg.listeners(env), objs)
			checkProbes(t, c, listen)
			checkMemory(t, c, cfg)
			checkData(t, spec, c, objs, f.data, cfg.writes(env))
			checkEnv(t, spec, c, image, cfg.env)
			checkSelectors(t, d, objs)
			checkDataPolicy(t, cfg)
			assert.GreaterOrEqual(t, *spec.TerminationGracePeriodSeconds, int64(30), "more than the 30 s the reliability tests give the collector to stop")
			if f.data == claimData {
				assert.Equal(t, appsv1.RecreateDeploymentStrategyType, d.Spec.Strategy.Type, "one collector at a time on a ReadWriteOnce claim")
			}
		})
	}
}

// checkDataPolicy: every pipeline that takes records from the gateway
// applies the data policy of pii.yaml before they leave the pod (keyed IDs,
// PII rules) in one of its policydecision processors; the tier, which
// takes them from Kafka, has them under it already.
func checkDataPolicy(t *testing.T, cfg collectorConfig) {
	t.Helper()
	pipelines, _ := lookup(cfg.raw, "service", "pipelines").(map[string]any)
	for name, p := range pipelines {
		if !slices.Contains(strs(lookup(p, "receivers")), "policygateway") {
			continue
		}
		applied := false
		for _, id := range strs(lookup(p, "processors")) {
			if id != "policydecision" && !strings.HasPrefix(id, "policydecision/") {
				continue
			}
			proc := lookup(cfg.raw, "processors", id)
			if str(lookup(proc, "id_key")) != "" && lookup(proc, "pii", "fields") != nil {
				applied = true
			}
		}
		assert.True(t, applied, "pipeline %s sends the gateway's records on without the data policy (id_key, pii)", name)
	}
}

// checkPodSecurity: the image's user, and the runtime's default seccomp
// profile, for the pod or the collector's container.
func checkPodSecurity(t *testing.T, spec corev1.PodSpec, c corev1.Container) {
	t.Helper()
	var user *int64
	var seccomp *corev1.SeccompProfile
	if psc := spec.SecurityContext; psc != nil {
		user, seccomp = psc.RunAsUser, psc.SeccompProfile
	}
	if sc := c.SecurityContext; sc != nil {
		if sc.RunAsUser != nil {
			user = sc.RunAsUser
		}
		if sc.SeccompProfile != nil {
			seccomp = sc.SeccompProfile
		}
	}
	if assert.NotNil(t, user, "runAsUser") {
		assert.Equal(t, int64(10001), *user, "the image's user")
	}
	if assert.NotNil(t, seccomp, "seccompProfile") {
		assert.Equal(t, corev1.SeccompProfileTypeRuntimeDefault, seccomp.Type)
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

// checkProbes: both probes on health_check's port (listen: the config's
// endpoints by container port name).
func checkProbes(t *testing.T, c corev1.Container, listen map[string]string) {
	t.Helper()
	require.Contains(t, listen, "health", "the config starts no health_check")
	health := port(t, listen["health"])
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

// checkData: what the config writes (writes, expanded) is on the data
// volume at dataDir, an emptyDir or a claim of the form as the form says;
// a form whose config writes nothing has no data volume.
func checkData(t *testing.T, spec corev1.PodSpec, c corev1.Container, objs []object, kind dataKind, writes []string) {
	t.Helper()
	var mount *corev1.VolumeMount
	for i, m := range c.VolumeMounts {
		if m.MountPath == dataDir {
			mount = &c.VolumeMounts[i]
		}
	}
	if kind == noData {
		assert.Nil(t, mount, "a data volume the config does not use")
		assert.Empty(t, writes, "the config writes on the container's read-only root")
		return
	}
	require.NotNil(t, mount, "the data volume at %s", dataDir)
	assert.False(t, mount.ReadOnly, "the data volume is writable")
	assert.NotEmpty(t, writes, "a data volume the config does not use")
	for _, w := range writes {
		assert.True(t, strings.HasPrefix(w, dataDir+"/"), "the config writes %s, not on the data volume", w)
	}
	for _, v := range spec.Volumes {
		if v.Name != mount.Name {
			continue
		}
		if kind == claimData {
			require.NotNil(t, v.PersistentVolumeClaim, "data on a claim")
			assert.True(t, has(objs, "PersistentVolumeClaim", v.PersistentVolumeClaim.ClaimName), "the claim %s is in the form", v.PersistentVolumeClaim.ClaimName)
		} else {
			assert.NotNil(t, v.EmptyDir, "data on an emptyDir")
		}
		return
	}
	t.Errorf("no volume %s", mount.Name)
}

// checkEnv: every ${env:X} the config uses without a default is set by the
// image or the pod spec; every Secret and ConfigMap key the container reads
// is one the README creates (sources); a variable naming a file (X_FILE)
// names a file of one of the container's Secret volumes.
func checkEnv(t *testing.T, spec corev1.PodSpec, c corev1.Container, image map[string]string, needed []string) {
	t.Helper()
	src := sources(t)
	files := secretFiles(spec, c, src)
	set := map[string]bool{}
	for k := range image {
		set[k] = true
	}
	for _, e := range c.Env {
		set[e.Name] = true
		switch from := e.ValueFrom; {
		case from == nil:
			if strings.HasSuffix(e.Name, "_FILE") {
				_, ok := files[e.Value]
				assert.True(t, ok, "%s=%s: not a file of a Secret volume of the container", e.Name, e.Value)
			}
		case from.SecretKeyRef != nil:
			assert.Contains(t, src["Secret/"+from.SecretKeyRef.Name], from.SecretKeyRef.Key, "%s: the Secret %s", e.Name, from.SecretKeyRef.Name)
		case from.ConfigMapKeyRef != nil:
			assert.Contains(t, src["ConfigMap/"+from.ConfigMapKeyRef.Name], from.ConfigMapKeyRef.Key, "%s: the ConfigMap %s", e.Name, from.ConfigMapKeyRef.Name)
		case from.FieldRef != nil:
			assert.Equal(t, "metadata.name", from.FieldRef.FieldPath, e.Name)
		default:
			t.Errorf("%s: a source the README does not create", e.Name)
		}
	}
	for _, name := range needed {
		assert.True(t, set[name], "the config needs ${env:%s}; the pod spec does not set it", name)
	}
}

// checkPorts: a container port for each endpoint the config listens on
// (listen), on every address of the pod (the kubelet probes and Services
// reach it there), and none other; each Service port targets one of them.
// It returns listen.
func checkPorts(t *testing.T, c corev1.Container, listen map[string]string, objs []object) map[string]string {
	t.Helper()
	byName := map[string]int{}
	for _, p := range c.Ports {
		byName[p.Name] = int(p.ContainerPort)
	}
	var ports, endpoints []string
	for name := range byName {
		ports = append(ports, name)
	}
	for name, endpoint := range listen {
		endpoints = append(endpoints, name)
		host, _, err := net.SplitHostPort(endpoint)
		require.NoError(t, err, "%s endpoint %q", name, endpoint)
		assert.Contains(t, []string{"", "0.0.0.0", "::"}, host, "%s listens on %s, not on the pod's addresses", name, endpoint)
		assert.Equal(t, port(t, endpoint), byName[name], "container port %s", name)
	}
	slices.Sort(ports)
	slices.Sort(endpoints)
	assert.Equal(t, endpoints, ports, "container ports, by name, for what the config listens on")
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
	return listen
}

// checkSelectors: the form's Services and PodDisruptionBudgets select the
// Deployment's pods, and a budget lets one pod go at a time while keeping
// one.
func checkSelectors(t *testing.T, d appsv1.Deployment, objs []object) {
	t.Helper()
	pod := labels.Set(d.Spec.Template.Labels)
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	require.NoError(t, err)
	assert.True(t, sel.Matches(pod), "the Deployment selects its own pods")
	for _, o := range objs {
		switch o.Kind {
		case "Service":
			var s corev1.Service
			decodeStrict(t, o.Name, o.YAML, &s)
			assert.NotEmpty(t, s.Spec.Selector, "Service %s", s.Name)
			assert.True(t, labels.SelectorFromSet(s.Spec.Selector).Matches(pod), "Service %s selects the pods", s.Name)
		case "PodDisruptionBudget":
			var b policyv1.PodDisruptionBudget
			decodeStrict(t, o.Name, o.YAML, &b)
			sel, err := metav1.LabelSelectorAsSelector(b.Spec.Selector)
			require.NoError(t, err)
			assert.False(t, sel.Empty(), "PodDisruptionBudget %s selects every pod of the namespace", b.Name)
			assert.True(t, sel.Matches(pod), "PodDisruptionBudget %s selects the pods", b.Name)
			require.NotNil(t, d.Spec.Replicas)
			replicas := int(*d.Spec.Replicas)
			var available int
			switch {
			case b.Spec.MinAvailable != nil:
				available, err = intstr.GetScaledValueFromIntOrPercent(b.Spec.MinAvailable, replicas, true)
			case b.Spec.MaxUnavailable != nil:
				var unavailable int
				unavailable, err = intstr.GetScaledValueFromIntOrPercent(b.Spec.MaxUnavailable, replicas, false)
				available = replicas - unavailable
			default:
				t.Errorf("PodDisruptionBudget %s: neither minAvailable nor maxUnavailable", b.Name)
			}
			require.NoError(t, err)
			assert.GreaterOrEqual(t, available, 1, "PodDisruptionBudget %s keeps a pod", b.Name)
			assert.Less(t, available, replicas, "PodDisruptionBudget %s lets a pod go (a node can be drained)", b.Name)
		}
	}
}

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

// The config of every pod form is valid for the distribution, with the
// environment the pod would have: the image's, the pod spec's, fresh
// values for the Secrets' and ConfigMaps' keys, the Secret volumes' files.
func TestTheConfigIsValid(t *testing.T) {
	bin := os.Getenv("POLICYAUDIT_BIN")
	if bin == "" {
		t.Skip("POLICYAUDIT_BIN is not set (make test sets it)")
	}
	image := imageEnv(t)
	for _, f := range podForms {
		t.Run(f.name, func(t *testing.T) {
			objs := render(t, f.name)
			d, spec := podSpec(t, objs)
			c, _, ok := collectorContainer(spec)
			require.True(t, ok, "no %s container", container)
			cfg := containerConfig(t, spec, c, objs)
			src := sources(t)
			env := podEnvironment(t, c, image, src, podName(d))
			// The Secret volumes' files, here rather than at their paths in
			// the container.
			dir := t.TempDir()
			files := secretFiles(spec, c, src)
			for path, content := range files {
				local := filepath.Join(dir, path)
				require.NoError(t, os.MkdirAll(filepath.Dir(local), 0o700))
				require.NoError(t, os.WriteFile(local, []byte(content), 0o600))
			}
			var environ []string
			for k, v := range env {
				if _, ok := files[v]; ok {
					v = filepath.Join(dir, v)
				}
				environ = append(environ, k+"="+v)
			}
			args := []string{"validate"}
			for _, file := range cfg.files {
				args = append(args, "--config", file)
			}
			cmd := exec.Command(bin, args...)
			cmd.Env = environ
			out, err := cmd.CombinedOutput()
			require.NoError(t, err, "%s %v:\n%s", bin, args, out)
		})
	}
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

// createCommand is a `kubectl create secret generic NAME` or `kubectl
// create configmap NAME` line of the README, continuations joined.
var createCommand = regexp.MustCompile(`kubectl create (secret generic|configmap) (\S+)([^\n]*)`)

// Every Secret and ConfigMap key a form reads (the pod spec's env and
// Secret volumes) is created by a command of deploy/kubernetes/README.md.
func TestTheREADMECreatesWhatTheFormsRead(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(manifests, "README.md"))
	require.NoError(t, err)
	created := map[string]bool{}
	for _, m := range createCommand.FindAllStringSubmatch(strings.ReplaceAll(string(b), "\\\n", " "), -1) {
		kind := "Secret"
		if m[1] == "configmap" {
			kind = "ConfigMap"
		}
		for _, flag := range regexp.MustCompile(`--from-(?:literal|file)=([^=\s]+)=`).FindAllStringSubmatch(m[3], -1) {
			created[kind+"/"+m[2]+"/"+flag[1]] = true
		}
	}
	require.NotEmpty(t, created, "no kubectl create in the README")
	for _, f := range podForms {
		_, spec := podSpec(t, render(t, f.name))
		var read []string
		for _, c := range append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...) {
			for _, e := range c.Env {
				switch from := e.ValueFrom; {
				case from == nil:
				case from.SecretKeyRef != nil:
					read = append(read, "Secret/"+from.SecretKeyRef.Name+"/"+from.SecretKeyRef.Key)
				case from.ConfigMapKeyRef != nil:
					read = append(read, "ConfigMap/"+from.ConfigMapKeyRef.Name+"/"+from.ConfigMapKeyRef.Key)
				}
			}
		}
		for _, v := range spec.Volumes {
			if v.Secret != nil {
				for _, it := range v.Secret.Items {
					read = append(read, "Secret/"+v.Secret.SecretName+"/"+it.Key)
				}
			}
		}
		for _, r := range read {
			assert.True(t, created[r], "%s reads %s, which no kubectl create of the README makes", f.name, r)
		}
	}
}
