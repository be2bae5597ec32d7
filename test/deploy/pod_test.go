// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package deploy

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/yaml"
)

// The volume form of the sidecar (deploy/kubernetes/volume) runs under
// podman kube play from the images make image built: the simulator in the
// gateway's place posts to localhost:4320 with the Secret's token, the
// records are found by correlation ID through the audit store's query API
// (published on 127.0.0.1 only), and after podman kube down and a second
// play the volume still holds them, under an intact, signed chain.
func TestSidecarPodUnderPodman(t *testing.T) {
	image, simImage := os.Getenv("POLICYAUDIT_IMAGE"), os.Getenv("POLICYAUDIT_SIM_IMAGE")
	if image == "" || simImage == "" {
		t.Skip("POLICYAUDIT_IMAGE and POLICYAUDIT_SIM_IMAGE are not set (make test builds the images and sets them)")
	}
	secret := secretEnv(t)
	token := strings.TrimPrefix(secret[0], "POLICYAUDIT_RECEIVER_TOKEN=")
	createSecret(t, secret)
	queryPort := freePort(t)
	const perRun = 1500

	objs := render(t, "volume")
	manifest := filepath.Join(t.TempDir(), "pod.yaml")
	// The claim is played once: podman refuses to create its volume again,
	// where a cluster would keep the existing claim.
	play := func(seed int, claim bool) {
		writePodManifest(t, manifest, objs, image, simImage, queryPort, seed, perRun, claim)
		out, err := podman("kube", "play", manifest)
		require.NoError(t, err, "podman kube play:\n%s", out)
	}
	down := func() {
		out, err := podman("kube", "down", manifest)
		require.NoError(t, err, "podman kube down:\n%s", out)
	}
	t.Cleanup(func() {
		_, _ = podman("kube", "down", manifest)
		_, _ = podman("volume", "rm", "-f", "policyaudit-data")
	})

	_, _ = podman("volume", "rm", "-f", "policyaudit-data")
	play(1, true)
	query := "http://127.0.0.1:" + strconv.Itoa(queryPort)
	first := waitForRecords(t, query, token, perRun)
	cid := first[0].Record["correlation_id"].(string)
	byCID := getRecords(t, query+"/api/v1/decisions?correlation_id="+url.QueryEscape(cid), token)
	require.NotEmpty(t, byCID, "correlation ID %s", cid)
	assert.Equal(t, cid, byCID[0].Record["correlation_id"])

	down()
	play(2, false)
	all := waitForRecords(t, query, token, 2*perRun)
	require.NotEmpty(t, all)
	var rep struct {
		OK       bool  `json:"ok"`
		Records  int64 `json:"records"`
		Anchored bool  `json:"anchored"`
	}
	getJSON(t, query+"/api/v1/verify", token, &rep)
	assert.True(t, rep.OK, "the chain verifies")
	assert.True(t, rep.Anchored, "under the Secret's signing key")
	assert.Equal(t, int64(2*perRun), rep.Records)
	t.Logf("pod: %d records in the audit store after two plays of %d records with a podman kube down between them; chain ok %v, anchored %v; %s",
		rep.Records, perRun, rep.OK, rep.Anchored, volumeUse(t, rep.Records))
	ps, err := podman("ps", "--all", "--format", "{{.Names}} {{.Status}}")
	require.NoError(t, err, "%s", ps)
	t.Logf("containers:\n%s", strings.TrimSpace(ps))
	assert.NotContains(t, ps, "Exited", "no container exited:\n%s", podDiagnostics())

	// The trail is only on 127.0.0.1: nothing listens on the host's other addresses.
	for _, ip := range hostAddresses(t) {
		c, err := net.DialTimeout("tcp", net.JoinHostPort(ip, strconv.Itoa(queryPort)), time.Second)
		if err == nil {
			c.Close()
			t.Errorf("the query API answers on %s", ip)
		}
	}
}

// volumeUse says what the data volume holds per record: the audit store
// (database and write-ahead log) and the queue files, for sizing a claim.
func volumeUse(t *testing.T, records int64) string {
	t.Helper()
	mount, err := podman("volume", "inspect", "policyaudit-data", "--format", "{{.Mountpoint}}")
	require.NoError(t, err, "%s", mount)
	root := strings.TrimSpace(mount)
	size := func(glob string) int64 {
		files, _ := filepath.Glob(filepath.Join(root, glob))
		var n int64
		for _, f := range files {
			if st, err := os.Stat(f); err == nil && !st.IsDir() {
				n += st.Size()
			}
		}
		return n
	}
	store, queue := size("audit.db*"), size("queue/*")
	return fmt.Sprintf("the audit store takes %d bytes a record on the volume (%d bytes), the drained queue files %d bytes",
		store/records, store, queue)
}

// writePodManifest writes the rendered form as podman plays it: the
// ConfigMap, the claim (unless it exists) and the Deployment, with the built images, the
// simulator's seed and count, and the query API published on 127.0.0.1.
func writePodManifest(t *testing.T, path string, objs []object, image, simImage string, queryPort, seed, records int, claim bool) {
	t.Helper()
	var docs []string
	for _, o := range objs {
		if o.Kind == "PersistentVolumeClaim" && !claim {
			continue
		}
		if o.Kind != "Deployment" {
			docs = append(docs, string(o.YAML))
			continue
		}
		var d appsv1.Deployment
		decodeStrict(t, o.Name, o.YAML, &d)
		spec := &d.Spec.Template.Spec
		for i := range spec.Containers {
			c := &spec.Containers[i]
			switch c.Name {
			case container:
				c.Image = image
				for j := range c.Ports {
					if c.Ports[j].Name == "audit-query" {
						c.Ports[j].HostIP, c.Ports[j].HostPort = "127.0.0.1", int32(queryPort)
					}
				}
			case "gateway":
				c.Image = simImage
				c.Args = append(c.Args, "-seed", strconv.Itoa(seed), "-records", strconv.Itoa(records), "-rate", "500")
			}
		}
		b, err := yaml.Marshal(d)
		require.NoError(t, err)
		docs = append(docs, string(b))
	}
	require.NoError(t, os.WriteFile(path, []byte(strings.Join(docs, "---\n")), 0o600))
}

// createSecret stores the Secret policyaudit-keys in podman, as kubectl
// create secret would in a cluster (podman reads a secretKeyRef from a
// podman secret holding the keys' base64 values as JSON).
func createSecret(t *testing.T, env []string) {
	t.Helper()
	names := map[string]string{
		"POLICYAUDIT_RECEIVER_TOKEN": "receiver-token", "POLICYAUDIT_SIGNING_KEY": "signing-key",
		"POLICYAUDIT_ID_KEY": "id-key", "POLICYAUDIT_PII_HASH_KEY": "pii-hash-key",
	}
	data := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		data[names[k]] = base64.StdEncoding.EncodeToString([]byte(v))
	}
	b, err := json.Marshal(data)
	require.NoError(t, err)
	file := filepath.Join(t.TempDir(), "secret.json")
	require.NoError(t, os.WriteFile(file, b, 0o600))
	_, _ = podman("secret", "rm", secretName)
	out, err := podman("secret", "create", secretName, file)
	require.NoError(t, err, "%s", out)
	t.Cleanup(func() { _, _ = podman("secret", "rm", secretName) })
}

type storedRecord struct {
	Seq    int64          `json:"seq"`
	Record map[string]any `json:"record"`
}

// waitForRecords waits until the audit store holds n records (decisions
// and admin events) and returns the decisions.
func waitForRecords(t *testing.T, base, token string, n int) []storedRecord {
	t.Helper()
	var decisions []storedRecord
	deadline := time.Now().Add(3 * time.Minute)
	for {
		var rep struct {
			Records int64 `json:"records"`
		}
		if tryJSON(base+"/api/v1/verify", token, &rep) == nil && rep.Records >= int64(n) {
			decisions = getRecords(t, base+"/api/v1/decisions?limit=1000", token)
			require.NotEmpty(t, decisions)
			return decisions
		}
		if time.Now().After(deadline) {
			t.Fatalf("the audit store did not reach %d records within 3 minutes (has %d):\n%s", n, rep.Records, podDiagnostics())
		}
		time.Sleep(time.Second)
	}
}

// podDiagnostics are the containers' states and the last lines of their logs.
func podDiagnostics() string {
	ps, _ := podman("ps", "--all", "--format", "{{.Names}} {{.Status}}")
	out := ps
	for _, line := range strings.Split(strings.TrimSpace(ps), "\n") {
		if name, _, ok := strings.Cut(line, " "); ok {
			logs, _ := podman("logs", name)
			out += "\n== " + name + "\n" + lastLines(logs, 8)
		}
	}
	return out
}

func getRecords(t *testing.T, u, token string) []storedRecord {
	t.Helper()
	var page struct {
		Records []storedRecord `json:"records"`
	}
	getJSON(t, u, token, &page)
	return page.Records
}

func getJSON(t *testing.T, u, token string, v any) {
	t.Helper()
	require.NoError(t, tryJSON(u, token, v), u)
}

func tryJSON(u, token string, v any) error {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", u, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// podman runs podman with the project's containers.conf (runc, no default
// ulimits), which make exports as CONTAINERS_CONF.
func podman(args ...string) (string, error) {
	out, err := exec.Command("podman", args...).CombinedOutput()
	return string(out), err
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// hostAddresses are this machine's non-loopback IPv4 addresses.
func hostAddresses(t *testing.T) []string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	require.NoError(t, err)
	var out []string
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			out = append(out, n.IP.String())
		}
	}
	return out
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
