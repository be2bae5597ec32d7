// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

// Package deploy checks the image and the Kubernetes manifests of
// deploy/kubernetes: offline, every form rendered with kustomize and
// decoded strictly into the Kubernetes API types, its collector config
// validated by the distribution; and for real, the sidecar pod run with
// podman (pod_test.go). It is a module of its own so that kustomize's
// dependencies stay out of the distribution's.
package deploy

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/policyaudit/policyaudit/internal/testfixtures"
)

// manifests is deploy/kubernetes.
var manifests = filepath.Join(testfixtures.Root, "deploy", "kubernetes")

// forms are the kustomizations a user applies (kubectl apply -k).
var forms = []string{"sidecar", "native-sidecar", "volume", "gateway", "operator", "tier", "sidecar-kafka"}

// object is one rendered resource: its kind and name, and its YAML.
type object struct {
	Kind, Name string
	YAML       []byte
}

// render runs kustomize on a form, as kubectl apply -k would.
func render(t *testing.T, form string) []object {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	res, err := k.Run(filesys.MakeFsOnDisk(), filepath.Join(manifests, form))
	require.NoError(t, err, form)
	var out []object
	for _, r := range res.Resources() {
		b, err := r.AsYAML()
		require.NoError(t, err)
		out = append(out, object{Kind: r.GetKind(), Name: r.GetName(), YAML: b})
	}
	return out
}

// decodeStrict decodes YAML into v, failing on any field v does not have.
func decodeStrict(t *testing.T, what string, b []byte, v any) {
	t.Helper()
	require.NoError(t, yaml.UnmarshalStrict(b, v), what)
}
