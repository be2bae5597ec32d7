// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"fmt"
	"io"

	"github.com/policyaudit/policyaudit/internal/auditstore"
)

// verifyPostgres verifies a fleet's shared store offline: every chain from
// its checkpoint, each chain's signed heads, and the signed registry of
// chains (a deleted chain, a tail cut behind a head the registry names).
func verifyPostgres(ctx context.Context, dsn string, opts auditstore.VerifyOptions, stdout, stderr io.Writer) int {
	st, err := auditstore.OpenPostgres(ctx, auditstore.PostgresConfig{DSN: dsn})
	if err != nil {
		fmt.Fprintln(stderr, "verify:", err)
		return 2
	}
	defer st.Close()
	rep, err := st.VerifyWith(ctx, opts)
	if err != nil {
		fmt.Fprintln(stderr, "verify:", err)
		return 2
	}
	for _, c := range rep.Chains {
		fmt.Fprintf(stdout, "chain %q: %s\n", c.Chain, chainLine(c))
	}
	if reg := rep.Registry; reg != nil {
		fmt.Fprintf(stdout, "registry: %d signed statements name %d chains, the newest signed at %s\n", reg.Statements, reg.Chains, orDefault(reg.NewestAt, "never"))
	}
	if !rep.OK {
		fmt.Fprintf(stdout, "BROKEN at seq %d: %s\n", rep.FirstBad, rep.Problem)
		return 1
	}
	fmt.Fprintf(stdout, "ok: %d chains, %d records\n", len(rep.Chains), rep.Records)
	if !rep.Anchored {
		fmt.Fprintln(stdout, "not anchored: without --public-key a cut prefix, a rewritten or deleted chain cannot be told from an intact one")
		return 0
	}
	code := 0
	for _, c := range rep.Chains {
		for _, r := range c.Unvouched {
			fmt.Fprintf(stdout, "UNVOUCHED chain %q seq %d to %d: appended by a process that stopped before signing them, and no later signature vouches for them; covered only by the links\n", c.Chain, r.From, r.To)
			code = exitUnvouched
		}
	}
	return code
}

// chainLine summarises one chain's verification.
func chainLine(c auditstore.Report) string {
	if !c.OK {
		return fmt.Sprintf("BROKEN at seq %d: %s", c.FirstBad, c.Problem)
	}
	line := fmt.Sprintf("ok, %d records, seq %d to %d, head hash %s", c.Records, c.Checkpoint.Seq+1, c.Head.Seq, c.Head.Hash)
	switch {
	case !c.Anchored:
	case c.SignedHead == nil:
		line += fmt.Sprintf("; no signed head yet, %d records unsigned", c.UnsignedRecords)
	default:
		line += fmt.Sprintf("; signed head at seq %d, %d records after it unsigned", c.SignedHead.Seq, c.UnsignedRecords)
	}
	return line
}
