// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package deploy

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// openTelemetryCollector is the part of the Operator's resource the
// manifests use, in the CRD's field names and the Kubernetes types it
// reuses; decoding strictly into it rejects a misspelt field.
type openTelemetryCollector struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Mode                          string                      `json:"mode"`
		Image                         string                      `json:"image"`
		ImagePullPolicy               corev1.PullPolicy           `json:"imagePullPolicy"`
		Env                           []corev1.EnvVar             `json:"env"`
		Resources                     corev1.ResourceRequirements `json:"resources"`
		SecurityContext               *corev1.SecurityContext     `json:"securityContext"`
		TerminationGracePeriodSeconds *int64                      `json:"terminationGracePeriodSeconds"`
		LivenessProbe                 *probeSettings              `json:"livenessProbe"`
		ReadinessProbe                *probeSettings              `json:"readinessProbe"`
		Ports                         []struct {
			Name string `json:"name"`
			Port int32  `json:"port"`
		} `json:"ports"`
		VolumeMounts []corev1.VolumeMount `json:"volumeMounts"`
		Volumes      []corev1.Volume      `json:"volumes"`
		Config       map[string]any       `json:"config"`
	} `json:"spec"`
}

// probeSettings are the CRD's probe fields (the Operator sets the handler
// from the health_check extension itself).
type probeSettings struct {
	InitialDelaySeconds *int32 `json:"initialDelaySeconds,omitempty"`
	PeriodSeconds       *int32 `json:"periodSeconds,omitempty"`
}

// facts reads a testdata list of "<kind> <name>" lines taken from an
// upstream schema, by kind.
func facts(t *testing.T, file string) map[string]map[string]bool {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", file))
	require.NoError(t, err)
	defer f.Close()
	out := map[string]map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		kind, value, ok := strings.Cut(sc.Text(), " ")
		if !ok || strings.HasPrefix(kind, "#") {
			continue
		}
		if out[kind] == nil {
			out[kind] = map[string]bool{}
		}
		out[kind][value] = true
	}
	require.NoError(t, sc.Err())
	return out
}

// keysIn requires every key of m to be among known.
func keysIn(t *testing.T, what string, m any, known map[string]bool) {
	t.Helper()
	obj, ok := m.(map[string]any)
	require.True(t, ok, "%s is not a mapping", what)
	for k := range obj {
		assert.True(t, known[k], "%s.%s is not a key upstream defines", what, k)
	}
}

// The Operator form uses only the CRD's fields, injects as a sidecar into
// the annotated gateway, and runs the same config as every other form.
func TestOperatorForm(t *testing.T) {
	objs := render(t, "operator")
	var raw map[string]any
	var col openTelemetryCollector
	for _, o := range objs {
		if o.Kind == "OpenTelemetryCollector" {
			require.NoError(t, yaml.Unmarshal(o.YAML, &raw))
			decodeStrict(t, o.Name, o.YAML, &col)
		}
	}
	require.NotNil(t, raw, "no OpenTelemetryCollector")
	assert.Equal(t, "opentelemetry.io/v1beta1", col.APIVersion)
	crd := facts(t, "opentelemetrycollector-v1beta1-spec-fields.txt")
	keysIn(t, "spec", raw["spec"], crd["field"])
	assert.True(t, crd["mode"][col.Spec.Mode], "mode %q", col.Spec.Mode)
	assert.Equal(t, "sidecar", col.Spec.Mode)
	keysIn(t, "spec.config", raw["spec"].(map[string]any)["config"], crd["config"])
	for _, k := range []string{"receivers", "exporters", "service"} {
		assert.Contains(t, col.Spec.Config, k, "the CRD requires spec.config.%s", k)
	}

	assert.Equal(t, baseConfig(t).raw, col.Spec.Config, "the Operator's config is deploy/kubernetes/base/config.yaml")
	d, spec := podSpec(t, objs)
	assert.Equal(t, col.Name, d.Spec.Template.Annotations["sidecar.opentelemetry.io/inject"])
	_, _, injected := collectorContainer(spec)
	assert.False(t, injected, "the Operator adds the collector; the Deployment must not carry it too")

	// What the Operator puts into the pod is what the pod forms run.
	c := corev1.Container{Name: container, Env: col.Spec.Env, Resources: col.Spec.Resources, SecurityContext: col.Spec.SecurityContext, VolumeMounts: col.Spec.VolumeMounts}
	checkSecurity(t, corev1.PodSpec{}, c)
	checkMemory(t, c, baseConfig(t))
	checkEnv(t, corev1.PodSpec{}, c, imageEnv(t), baseConfig(t).env)
	assert.Contains(t, c.VolumeMounts, corev1.VolumeMount{Name: "policyaudit-data", MountPath: dataDir})
}

// The Helm values run the image with the shared ConfigMap, the Secret's
// keys, the same memory settings, and only the ports the config listens on.
func TestHelmValues(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(manifests, "gateway", "values.yaml"))
	require.NoError(t, err)
	var v struct {
		Mode         string `json:"mode"`
		ReplicaCount int    `json:"replicaCount"`
		Image        struct {
			Repository, Tag, PullPolicy string
		} `json:"image"`
		Command struct {
			Name string `json:"name"`
		} `json:"command"`
		ConfigMap struct {
			Create       bool   `json:"create"`
			ExistingName string `json:"existingName"`
		} `json:"configMap"`
		UseGOMEMLIMIT                 bool                        `json:"useGOMEMLIMIT"`
		ExtraEnvs                     []corev1.EnvVar             `json:"extraEnvs"`
		Resources                     corev1.ResourceRequirements `json:"resources"`
		PodSecurityContext            *corev1.PodSecurityContext  `json:"podSecurityContext"`
		SecurityContext               *corev1.SecurityContext     `json:"securityContext"`
		TerminationGracePeriodSeconds int64                       `json:"terminationGracePeriodSeconds"`
		ExtraVolumes                  []corev1.Volume             `json:"extraVolumes"`
		ExtraVolumeMounts             []corev1.VolumeMount        `json:"extraVolumeMounts"`
		Ports                         map[string]struct {
			Enabled       bool   `json:"enabled"`
			ContainerPort int    `json:"containerPort"`
			ServicePort   int    `json:"servicePort"`
			Protocol      string `json:"protocol"`
		} `json:"ports"`
	}
	decodeStrict(t, "values.yaml", b, &v)
	var raw map[string]any
	require.NoError(t, yaml.Unmarshal(b, &raw))
	chart := facts(t, "opentelemetry-collector-chart-values-keys.txt")
	keysIn(t, "values", raw, chart["key"])
	for _, section := range []string{"image", "command", "configMap"} {
		keysIn(t, section, raw[section], chart[section])
	}
	for name, p := range raw["ports"].(map[string]any) {
		keysIn(t, "ports."+name, p, chart["port"])
	}
	assert.Equal(t, "deployment", v.Mode)
	assert.Equal(t, "otelcol-policyaudit", v.Command.Name, "the binary at the image's root")
	assert.False(t, v.ConfigMap.Create)
	assert.Equal(t, configMap, v.ConfigMap.ExistingName, "the chart mounts key %q of the shared ConfigMap", configKey)
	assert.False(t, v.UseGOMEMLIMIT, "GOMEMLIMIT comes from extraEnvs, below the memory_limiter")
	c := corev1.Container{Name: container, Env: v.ExtraEnvs, Resources: v.Resources, SecurityContext: v.SecurityContext, VolumeMounts: v.ExtraVolumeMounts}
	checkSecurity(t, corev1.PodSpec{SecurityContext: v.PodSecurityContext}, c)
	checkMemory(t, c, baseConfig(t))
	env := imageEnv(t)
	checkEnv(t, corev1.PodSpec{}, c, env, baseConfig(t).env)
	var open []int
	for name, p := range v.Ports {
		if p.Enabled {
			open = append(open, p.ContainerPort)
			assert.Equal(t, p.ContainerPort, p.ServicePort, name)
		}
	}
	sort.Ints(open)
	assert.Equal(t, []int{port(t, env["POLICYAUDIT_ENDPOINT"]), port(t, env["POLICYAUDIT_QUERY_ENDPOINT"])}, open)
}

func randomHex(t *testing.T) string {
	t.Helper()
	b := make([]byte, 32)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return hex.EncodeToString(b)
}
