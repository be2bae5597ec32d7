// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package evidence

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite" // "sqlite", for the rewrite

	"github.com/policyaudit/policyaudit/internal/auditstore"
	"github.com/policyaudit/policyaudit/internal/pdatajson"
	"github.com/policyaudit/policyaudit/internal/signing"
)

var day = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

func newSigner(t testing.TB) *signing.Signer {
	priv, _, err := signing.GenerateKey()
	require.NoError(t, err)
	s, err := signing.ParsePrivateKey(priv)
	require.NoError(t, err)
	return s
}

func entry(t testing.TB, rec map[string]any) auditstore.Entry {
	b, err := pdatajson.AppendCanonicalAny(nil, rec)
	require.NoError(t, err)
	cols, err := auditstore.ColumnsOfMap(rec)
	require.NoError(t, err)
	return auditstore.Entry{Columns: cols, Record: b}
}

func decision(t testing.TB, id string, created time.Time, policy, version, verdict string, enforced bool) auditstore.Entry {
	mode := "enforced"
	if !enforced {
		mode = "shadow"
	}
	return entry(t, map[string]any{
		"schema_version": "1", "event_kind": "policy_decision", "event_id": id, "correlation_id": "c-" + id,
		"created_at": created.Format("2006-01-02T15:04:05.000Z"), "decision": verdict, "effective_decision": verdict,
		"rollout_mode": mode, "enforced": enforced, "reason_code": "R", "policy_id": policy, "policy_version": version,
		"triggered_categories": []any{}, "allowlist_hits": []any{}, "denylist_hits": []any{},
	})
}

func policyUpdate(t testing.TB, id string, created time.Time, policy, version string) auditstore.Entry {
	return entry(t, map[string]any{
		"schema_version": "1", "event_kind": "admin_audit", "event_id": id, "correlation_id": "c-" + id,
		"created_at": created.Format("2006-01-02T15:04:05.000Z"), "actor": map[string]any{"id": "carol@example.com", "type": "user"},
		"action": "policy.update", "resource": map[string]any{"type": "policy", "id": policy}, "outcome": "success",
		"policy_id": policy, "policy_version": version,
	})
}

// trail is a signed store over the day before, the day and the day after:
// records stored the day before (created then), the day's records stored
// that day (one created the day before, arriving late), a head signed
// mid-day, a head signed after the day, and a record after that head.
func trail(t *testing.T) (*auditstore.Store, *signing.Signer, *time.Time) {
	ctx := context.Background()
	signer := newSigner(t)
	now := day.Add(-12 * time.Hour)
	st, err := auditstore.Open(ctx, filepath.Join(t.TempDir(), "audit.db"), auditstore.WithClock(func() time.Time { return now }), auditstore.WithSigner(signer, 0))
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	add := func(e auditstore.Entry) {
		now = now.Add(time.Minute)
		_, _, err := st.Append(ctx, []auditstore.Entry{e})
		require.NoError(t, err)
	}
	for i := range 3 {
		add(decision(t, fmt.Sprintf("before-%d", i), day.Add(-11*time.Hour+time.Duration(i)*time.Minute), "p", "1", "allow", true))
	}
	now = day.Add(30 * time.Minute)
	add(decision(t, "d-1", day.Add(29*time.Minute), "p", "1", "allow", true))
	add(decision(t, "d-2", day.Add(30*time.Minute), "p", "1", "deny", true))
	add(decision(t, "late", day.Add(-time.Hour), "p", "1", "deny", true)) // created the day before
	add(decision(t, "d-3", day.Add(31*time.Minute), "p", "1", "deny", false))
	add(policyUpdate(t, "change-1", day.Add(6*time.Hour), "p", "2"))
	require.NoError(t, st.SignHead(ctx, auditstore.SignedForInterval))
	now = day.Add(9 * time.Hour)
	add(decision(t, "d-4", day.Add(9*time.Hour), "p", "2", "deny", true))
	add(decision(t, "d-5", day.Add(9*time.Hour+time.Minute), "q", "7", "modify", true))
	add(decision(t, "d-6", day.Add(23*time.Hour), "p", "2", "redact", true))
	now = day.Add(25 * time.Hour)
	add(decision(t, "after-1", day.Add(25*time.Hour), "p", "2", "allow", true))
	require.NoError(t, st.SignHead(ctx, auditstore.SignedForInterval))
	now = day.Add(26 * time.Hour)
	add(decision(t, "after-2", day.Add(26*time.Hour), "p", "2", "allow", true))
	return st, signer, &now
}

func export(t *testing.T, st *auditstore.Store, signer *signing.Signer, opts Options) []byte {
	t.Helper()
	var b bytes.Buffer
	_, err := Export(context.Background(), st, signer, opts, &b)
	require.NoError(t, err)
	return b.Bytes()
}

func verify(t *testing.T, bundle []byte, pub ed25519.PublicKey) Result {
	t.Helper()
	res, err := Verify(bytes.NewReader(bundle), auditstore.NewKeyring(pub))
	require.NoError(t, err)
	return res
}

var theDay = Options{From: day, To: day.Add(24 * time.Hour), Now: day.Add(30 * time.Hour)}

func TestABundleOfADayVerifiesOfflineAndSaysWhatTheRecordsSay(t *testing.T) {
	st, signer, _ := trail(t)
	bundle := export(t, st, signer, theDay)
	res := verify(t, bundle, signer.PublicKey())
	require.True(t, res.OK, res.Problems)
	assert.Equal(t, 7, res.Records, "d-1 to d-6 and the policy change; not the late record created the day before")
	assert.Equal(t, 10, res.Links, "from the last record stored before the day to the head signed after it")

	files, err := readTar(bytes.NewReader(bundle))
	require.NoError(t, err)
	sum := string(files[FileSummary])
	assert.Contains(t, sum, `"decisions": 6`)
	assert.Contains(t, string(files[FileCSV]), "p,1,enforced,1,1,0,0,0,0\np,1,observed,0,1,0,0,0,0\np,2,enforced,0,1,0,1,0,1\n")
	report := string(files[FileReport])
	assert.Contains(t, report, "| 2026-03-02T06:00:00.000Z | p | 2 | policy.update | carol@example.com | success |")
	assert.Contains(t, report, "- 2026-03-02T09:01:00Z to 2026-03-02T23:00:00Z (839 minutes)")
	assert.NotContains(t, report, "2026-03-02T23:00:00Z to 2026-03-03T00:00:00Z", "an hour exactly is not longer than the threshold")

	again := export(t, st, signer, theDay)
	assert.Equal(t, bundle, again, "the same range, the same bytes")

	// One policy's bundle counts only its records.
	only := verify(t, export(t, st, signer, Options{From: theDay.From, To: theDay.To, Policy: "q", Now: theDay.Now}), signer.PublicKey())
	require.True(t, only.OK, only.Problems)
	assert.Equal(t, 1, only.Records)
}

func TestABundleNeedsAHeadSignedAfterTheRange(t *testing.T) {
	st, signer, _ := trail(t)
	var b bytes.Buffer
	_, err := Export(context.Background(), st, signer, Options{From: day, To: day.Add(72 * time.Hour)}, &b)
	assert.ErrorContains(t, err, "no head was signed at or after")
	_, err = Export(context.Background(), st, newSigner(t), theDay, &b)
	assert.ErrorContains(t, err, "neither the store's key")
}

// tamper rewrites one file of a bundle with edit and, with resign, signs
// the manifest again (with its file hashes recomputed) under signer: what
// someone holding the key could do, so the checks past the manifest are
// what must name the change.
func tamper(t *testing.T, bundle []byte, name string, edit func([]byte) []byte, resign *signing.Signer) []byte {
	t.Helper()
	files, err := readTar(bytes.NewReader(bundle))
	require.NoError(t, err)
	if name != "" {
		files[name] = edit(files[name])
	}
	if resign != nil {
		var m Manifest
		require.NoError(t, json.Unmarshal(files[FileManifest], &m))
		for i, f := range m.Files {
			m.Files[i].SHA256, m.Files[i].Bytes = sha(files[f.Name]), len(files[f.Name])
		}
		files[FileManifest] = indented(m)
		files[FileSignature] = []byte(resign.SignBase64(files[FileManifest]) + "\n")
	}
	var out bytes.Buffer
	require.NoError(t, writeTar(&out, files, day))
	return out.Bytes()
}

func lines(b []byte) []string { return strings.SplitAfter(strings.TrimSuffix(string(b), "\n"), "\n") }

func withLines(ls []string) []byte {
	s := strings.Join(ls, "")
	if !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	return []byte(s)
}

func TestEveryTamperingIsNamed(t *testing.T) {
	st, signer, now := trail(t)
	bundle := export(t, st, signer, theDay)
	files, err := readTar(bytes.NewReader(bundle))
	require.NoError(t, err)
	recs := lines(files[FileRecords])
	require.Len(t, recs, 10)
	// A link stored after the closing head, from the store itself.
	*now = day.Add(27 * time.Hour)
	var later string
	sn, err := st.Snapshot(context.Background())
	require.NoError(t, err)
	require.NoError(t, sn.Links(context.Background(), "", 13, 13, func(r auditstore.Row) error {
		later = string(encodeLines([]auditstore.Row{r}))
		return nil
	}))
	require.NoError(t, sn.Close())
	require.NotEmpty(t, later)

	for name, c := range map[string]struct {
		file   string
		edit   func([]byte) []byte
		resign *signing.Signer
		want   string
	}{
		"a record changed": {FileRecords, func([]byte) []byte {
			ls := append([]string{}, recs...)
			require.Contains(t, ls[2], `"decision":"deny"`)
			ls[2] = strings.Replace(ls[2], `"decision":"deny"`, `"decision":"allow"`, 1)
			return withLines(ls)
		}, signer, `seq 5: its hash does not match the record`},
		"a record changed, the manifest left": {FileRecords, func(b []byte) []byte {
			return bytes.Replace(b, []byte(`"event_id":"d-2"`), []byte(`"event_id":"d-X"`), 1)
		}, nil, "records.jsonl: its SHA-256 is not the manifest's"},
		"a record dropped": {FileRecords, func([]byte) []byte {
			return withLines(append(append([]string{}, recs[:2]...), recs[3:]...))
		}, signer, "seq 5 is missing"},
		"a record added": {FileRecords, func([]byte) []byte {
			return withLines(append(append(append([]string{}, recs[:3]...), recs[2]), recs[3:]...))
		}, signer, "seq 5 follows seq 5"},
		"records reordered": {FileRecords, func([]byte) []byte {
			ls := append([]string{}, recs...)
			ls[2], ls[3] = ls[3], ls[2]
			return withLines(ls)
		}, signer, "seq 5 is missing"},
		"the summary edited": {FileSummary, func(b []byte) []byte {
			return bytes.Replace(b, []byte(`"decisions": 6`), []byte(`"decisions": 5`), 1)
		}, signer, "summary.json: not what the records say"},
		"the report edited": {FileReport, func(b []byte) []byte {
			return bytes.Replace(b, []byte("policy.update"), []byte("policy.view"), 1)
		}, signer, "report.md: not what the records say"},
		"the manifest re-signed with another key": {"", nil, newSigner(t), "manifest.sig: the manifest is not signed by the given key"},
		"a record from outside the range slipped in": {FileRecords, func(b []byte) []byte {
			return append(b, later...)
		}, signer, "beyond the signed head at seq 12"},
		"the run started inside the range": {FileRecords, func([]byte) []byte {
			return withLines(recs[1:])
		}, signer, `the run starts at seq 4, the manifest says 3`},
	} {
		t.Run(name, func(t *testing.T) {
			res := verify(t, tamper(t, bundle, c.file, c.edit, c.resign), signer.PublicKey())
			assert.False(t, res.OK)
			assert.Contains(t, strings.Join(res.Problems, "\n"), c.want)
		})
	}
}

// A bundle whose run starts inside the range, its manifest made to agree
// and signed with the store's own key, is still named: nothing shows that
// no record stored earlier in the range was left out.
func TestARunStartingInsideTheRangeIsNamed(t *testing.T) {
	st, signer, _ := trail(t)
	files, err := readTar(bytes.NewReader(export(t, st, signer, theDay)))
	require.NoError(t, err)
	files[FileRecords] = withLines(lines(files[FileRecords])[1:])
	var m Manifest
	require.NoError(t, json.Unmarshal(files[FileManifest], &m))
	m.Chains[0].FirstSeq++
	for i, f := range m.Files {
		m.Files[i].SHA256, m.Files[i].Bytes = sha(files[f.Name]), len(files[f.Name])
	}
	files[FileManifest] = indented(m)
	files[FileSignature] = []byte(signer.SignBase64(files[FileManifest]) + "\n")
	var out bytes.Buffer
	require.NoError(t, writeTar(&out, files, day))
	res := verify(t, out.Bytes(), signer.PublicKey())
	assert.False(t, res.OK)
	assert.Contains(t, strings.Join(res.Problems, "\n"), "the run starts at seq 4, stored at 2026-03-02T00:31:00Z, not before the range")
}

// Someone with the database and not the key rewrites records, recomputes
// the links, deletes the signed heads and lets the store restart, which
// signs over what it found: the bundle still names the rewritten range,
// as nothing the restarted process appended vouches for it.
func TestARewriteCountersignedByARestartIsNamed(t *testing.T) {
	ctx := context.Background()
	signer := newSigner(t)
	path := filepath.Join(t.TempDir(), "audit.db")
	now := day.Add(time.Hour)
	clock := auditstore.WithClock(func() time.Time { return now })
	st, err := auditstore.Open(ctx, path, clock, auditstore.WithSigner(signer, 0))
	require.NoError(t, err)
	for i := range 3 {
		now = now.Add(time.Minute)
		_, _, err := st.Append(ctx, []auditstore.Entry{decision(t, fmt.Sprintf("r-%d", i), now, "p", "1", "deny", true)})
		require.NoError(t, err)
	}
	require.NoError(t, st.SignHead(ctx, auditstore.SignedForShutdown))
	require.NoError(t, st.Close())

	// The rewrite: seq 2 becomes an allow, the links after it recomputed.
	db, err := sql.Open("sqlite", "file:"+path)
	require.NoError(t, err)
	_, err = db.Exec(`DELETE FROM signed_heads`)
	require.NoError(t, err)
	prev := ""
	require.NoError(t, db.QueryRow(`SELECT hash FROM records WHERE seq = 1`).Scan(&prev))
	for seq := int64(2); seq <= 3; seq++ {
		var rec string
		var stored int64
		require.NoError(t, db.QueryRow(`SELECT record, stored_ms FROM records WHERE seq = ?`, seq).Scan(&rec, &stored))
		if seq == 2 {
			rec = strings.Replace(rec, `"decision":"deny"`, `"decision":"allow"`, 1)
		}
		hash := auditstore.LinkHash(seq, stored, prev, []byte(rec))
		_, err = db.Exec(`UPDATE records SET record = ?, prev_hash = ?, hash = ?, decision = 'allow' WHERE seq = ?`, rec, prev, hash, seq)
		require.NoError(t, err)
		prev = hash
	}
	require.NoError(t, db.Close())

	now = day.Add(25 * time.Hour)
	st, err = auditstore.Open(ctx, path, clock, auditstore.WithSigner(signer, 0))
	require.NoError(t, err)
	defer st.Close()
	_, _, err = st.Append(ctx, []auditstore.Entry{decision(t, "after", now, "p", "1", "allow", true)})
	require.NoError(t, err)
	require.NoError(t, st.SignHeadNow(ctx, auditstore.SignedForExport))
	// The exporter refuses to sign it; a bundle made anyway (the signer
	// skipping that check) is named by the verifier.
	var b bytes.Buffer
	_, err = Export(ctx, st, signer, theDay, &b)
	assert.ErrorContains(t, err, "seq 1 to 3 are vouched for by no signature")
	assert.Zero(t, b.Len(), "no bundle written")
	files := exportUnchecked(t, st, signer, theDay)
	res, err := verifyFiles(files, auditstore.NewKeyring(signer.PublicKey()))
	require.NoError(t, err)
	assert.False(t, res.OK)
	assert.Contains(t, strings.Join(res.Problems, "\n"), "seq 1 to 3 are vouched for by no signature")
}

// exportUnchecked is Export without its closing check: a bundle from a
// store someone rewrote, as a key holder who skipped the check would sign it.
func exportUnchecked(t *testing.T, st *auditstore.Store, signer *signing.Signer, opts Options) map[string][]byte {
	t.Helper()
	files, _, err := build(context.Background(), st, signer, &opts)
	require.NoError(t, err)
	return files
}
