// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package deploy

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// The tier form (deploy/kubernetes/tier) runs config/examples/common.yaml +
// tier.yaml from the image, two or more pods rolled one at a time, each
// appending to the shared store under a chain named after it and signing
// its S3 digests under a prefix of its own (so two pods never share
// either), with the fleet's signing key from the Secret's volume, a
// PodDisruptionBudget, and a Service for the query API and health.
// TestPodFormsRunTheCollectorSafely checks the rest, as for every pod form.
func TestTierForm(t *testing.T) {
	objs := render(t, "tier")
	d, spec := podSpec(t, objs)
	c, _, ok := collectorContainer(spec)
	require.True(t, ok, "no %s container", container)
	assert.Equal(t, []string{"--config", imageExamples + "common.yaml", "--config", imageExamples + "tier.yaml"}, c.Args)

	require.NotNil(t, d.Spec.Replicas)
	assert.GreaterOrEqual(t, *d.Spec.Replicas, int32(2), "replicas")
	assert.Equal(t, appsv1.RollingUpdateDeploymentStrategyType, d.Spec.Strategy.Type)
	if ru := d.Spec.Strategy.RollingUpdate; assert.NotNil(t, ru) && assert.NotNil(t, ru.MaxUnavailable) {
		assert.Equal(t, 0, ru.MaxUnavailable.IntValue(), "a rollout keeps every pod consuming until its successor is ready")
	}

	var chain *corev1.EnvVar
	for i, e := range c.Env {
		if e.Name == "POLICYAUDIT_CHAIN" {
			chain = &c.Env[i]
		}
	}
	require.NotNil(t, chain, "POLICYAUDIT_CHAIN")
	require.NotNil(t, chain.ValueFrom, "POLICYAUDIT_CHAIN from the downward API")
	require.NotNil(t, chain.ValueFrom.FieldRef, "POLICYAUDIT_CHAIN from the downward API")
	assert.Equal(t, "metadata.name", chain.ValueFrom.FieldRef.FieldPath)

	// Two pods of the Deployment: two chains, two digest prefixes.
	cfg := containerConfig(t, spec, c, objs)
	assert.Equal(t, "postgres", lookup(cfg.raw, "extensions", "auditstore", "backend"), "the shared store")
	image, src := imageEnv(t), sources(t)
	chains, digests := map[string]bool{}, map[string]bool{}
	for _, pod := range []string{"policyaudit-tier-5d8f7c9b4-x2x7q", "policyaudit-tier-5d8f7c9b4-k9zt4"} {
		env := podEnvironment(t, c, image, src, pod)
		name := expand(str(lookup(cfg.raw, "extensions", "auditstore", "postgres", "chain")), env)
		assert.Equal(t, pod, name, "the pod's chain")
		chains[name] = true
		digests[expand(str(lookup(cfg.raw, "exporters", "s3audit", "digest", "prefix")), env)] = true
	}
	assert.Len(t, chains, 2, "each pod its own chain")
	assert.Len(t, digests, 2, "each pod its own S3 digest prefix: %v", digests)

	// The signing key: the Secret's key, in a file only the collector's
	// group may read.
	env := podEnvironment(t, c, image, src, podName(d))
	files := secretFiles(spec, c, src)
	keyFile := env["POLICYAUDIT_SIGNING_KEY_FILE"]
	require.Contains(t, files, keyFile, "POLICYAUDIT_SIGNING_KEY_FILE is a file of a Secret volume")
	assert.Equal(t, src["Secret/policyaudit-keys"]["signing-key"], files[keyFile], "the fleet's signing key")
	for _, v := range spec.Volumes {
		if v.Secret != nil {
			require.NotNil(t, v.Secret.DefaultMode, "the Secret volume's mode")
			assert.Zero(t, *v.Secret.DefaultMode&0o007, "the Secret volume's files are not world-readable: %o", *v.Secret.DefaultMode)
		}
	}

	assert.True(t, has(objs, "PodDisruptionBudget", d.Name), "a PodDisruptionBudget")
	var svc corev1.Service
	for _, o := range objs {
		if o.Kind == "Service" {
			decodeStrict(t, o.Name, o.YAML, &svc)
		}
	}
	var ports []string
	for _, p := range svc.Spec.Ports {
		ports = append(ports, p.TargetPort.String())
	}
	assert.ElementsMatch(t, []string{"audit-query", "health"}, ports, "the Service: the query API and health")
}
