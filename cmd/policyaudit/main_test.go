// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/policyaudit/policyaudit/internal/auditstore"
	"github.com/policyaudit/policyaudit/internal/pdatajson"
	"github.com/policyaudit/policyaudit/internal/signing"
)

func policyaudit(args ...string) (int, string) {
	var out bytes.Buffer
	code := run(context.Background(), args, &out, &out)
	return code, out.String()
}

// storeWith writes n decisions into a new database and returns its path and head.
func storeWith(t *testing.T, n int) (string, auditstore.Link) {
	path := filepath.Join(t.TempDir(), "audit.db")
	st, err := auditstore.Open(context.Background(), path)
	require.NoError(t, err)
	defer st.Close()
	appendRecords(t, st, 1, n)
	return path, st.Head()
}

// signedStoreWith is a store of n records appended and signed by signer, as
// a collector writes and signs at shutdown; the store is left open.
func signedStoreWith(t *testing.T, n int, signer *signing.Signer) (string, *auditstore.Store) {
	path := filepath.Join(t.TempDir(), "audit.db")
	st, err := auditstore.Open(context.Background(), path, auditstore.WithSigner(signer, 0))
	require.NoError(t, err)
	appendRecords(t, st, 1, n)
	require.NoError(t, st.SignHead(context.Background(), auditstore.SignedForShutdown))
	return path, st
}

// appendRecords appends the records numbered from to to.
func appendRecords(t *testing.T, st *auditstore.Store, from, to int) {
	for i := from; i <= to; i++ {
		rec := map[string]any{
			"schema_version": "1", "event_kind": "policy_decision", "event_id": fmt.Sprintf("ev-%d", i),
			"created_at": fmt.Sprintf("2026-03-02T09:00:%02d.000Z", i), "correlation_id": fmt.Sprintf("c-%d", i),
			"decision": "deny", "effective_decision": "deny", "rollout_mode": "enforced", "enforced": true,
			"reason_code": "JAILBREAK", "policy_id": "p", "policy_version": "3", "score": 0.5,
		}
		b, err := pdatajson.AppendCanonicalAny(nil, rec)
		require.NoError(t, err)
		cols, err := auditstore.ColumnsOfMap(rec)
		require.NoError(t, err)
		_, _, err = st.Append(context.Background(), []auditstore.Entry{{Columns: cols, Record: b}})
		require.NoError(t, err)
	}
}

const notAnchored = "not anchored: without --public-key a cut prefix, a rewritten chain or a rolled-back file cannot be told from an intact one"

func tamper(t *testing.T, path, stmt string) {
	db, err := sql.Open("sqlite", "file:"+path)
	require.NoError(t, err)
	defer db.Close()
	_, err = db.Exec(stmt)
	require.NoError(t, err)
}

func TestVerifyDatabase(t *testing.T) {
	path, head := storeWith(t, 5)
	code, out := policyaudit("verify", path)
	assert.Equal(t, 0, code, out)
	assert.Equal(t, fmt.Sprintf("ok: 5 records, seq 1 to 5, head hash %s\n%s\n", head.Hash, notAnchored), out)

	code, out = policyaudit("verify", "--expect-head", fmt.Sprintf("5:%s", head.Hash), path)
	assert.Equal(t, 0, code, out)

	tamper(t, path, `DELETE FROM records WHERE seq = 5`)
	code, _ = policyaudit("verify", path)
	assert.Equal(t, 0, code, "a cut tail looks like a shorter chain...")
	code, out = policyaudit("verify", "--expect-head", fmt.Sprintf("5:%s", head.Hash), path)
	assert.Equal(t, 1, code, "...unless the head is known")
	assert.Equal(t, "BROKEN at seq 5: the chain ends at seq 4, before the head at seq 5 that was signed or expected: records were deleted from the end or the file was rolled back\n", out)

	tamper(t, path, `UPDATE records SET record = replace(record, '"deny"', '"allow"') WHERE seq = 2`)
	code, out = policyaudit("verify", path)
	assert.Equal(t, 1, code)
	assert.Equal(t, "BROKEN at seq 2: hash does not match the record: the record, its stored time or its hash was changed\n", out)
}

func TestExportAndVerifyJSONLines(t *testing.T) {
	path, head := storeWith(t, 4)
	code, exported := policyaudit("export", path)
	require.Equal(t, 0, code, exported)
	lines := strings.Split(strings.TrimSpace(exported), "\n")
	require.Len(t, lines, 4)

	file := filepath.Join(t.TempDir(), "chain.jsonl")
	write := func(ls []string) {
		require.NoError(t, os.WriteFile(file, []byte(strings.Join(ls, "\n")+"\n"), 0o600))
	}
	write(lines)
	code, out := policyaudit("verify", file)
	assert.Equal(t, 0, code, out)
	assert.Equal(t, fmt.Sprintf("ok: 4 records, seq 1 to 4, head hash %s\n%s\n", head.Hash, notAnchored), out)

	// Split across files, in order.
	second := filepath.Join(t.TempDir(), "part2.jsonl")
	require.NoError(t, os.WriteFile(second, []byte(lines[2]+"\n"+lines[3]+"\n"), 0o600))
	write(lines[:2])
	code, out = policyaudit("verify", file, second)
	assert.Equal(t, 0, code, out)

	changed := append([]string(nil), lines...)
	changed[1] = strings.Replace(changed[1], `"decision":"deny"`, `"decision":"allow"`, 1)
	write(changed)
	code, out = policyaudit("verify", file)
	assert.Equal(t, 1, code)
	assert.Equal(t, "BROKEN at seq 2: hash does not match the record: the record, its stored time or its hash was changed\n", out)

	write([]string{lines[0], lines[2], lines[3]})
	code, out = policyaudit("verify", file)
	assert.Equal(t, 1, code)
	assert.Equal(t, "BROKEN at seq 2: seq 2 is missing (the next record is seq 3): a record was deleted\n", out)

	write([]string{lines[0], lines[2], lines[1], lines[3]})
	code, out = policyaudit("verify", file)
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "BROKEN at seq 2:")

	write([]string{lines[1], lines[2]})
	code, out = policyaudit("verify", "--from", "1:"+strings.Repeat("0", 64), file)
	assert.Equal(t, 1, code, "anchored at a checkpoint, a file must follow it")
	assert.Equal(t, "BROKEN at seq 2: prev_hash does not match the hash of seq 1\n", out)
}

func TestUsage(t *testing.T) {
	code, _ := policyaudit()
	assert.Equal(t, 2, code)
	code, out := policyaudit("verify", filepath.Join(t.TempDir(), "missing.jsonl"))
	assert.Equal(t, 2, code)
	assert.Contains(t, out, "no such file")
}
