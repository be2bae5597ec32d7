// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package auditstore

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/policyaudit/policyaudit/internal/pdatajson"
	"github.com/policyaudit/policyaudit/internal/signing"
)

// RegistryStatement is what a signed registry of a shared store asserts:
// these chains existed, each reaching at least the head named (the newest
// signed head of it that the signer could verify; a chain another key signs
// is named without one). A writer signs one when it takes its chain and
// whenever it signs its head, so the newest names every chain of the fleet:
// a chain deleted, or cut behind a head named here, is noticed.
type RegistryStatement struct {
	Type     string          `json:"type"`
	KeyID    string          `json:"key_id"`
	SignedAt string          `json:"signed_at"`
	Chains   []RegistryEntry `json:"chains"`
}

// RegistryEntry is one chain of a registry statement.
type RegistryEntry struct {
	Chain string `json:"chain"`
	Seq   int64  `json:"seq"`
	Hash  string `json:"hash,omitempty"`
}

// RegistryStatementType is the type of every registry statement.
const RegistryStatementType = "policyaudit.audit_store.registry.v1"

// RegistryCheck is what verification found in a shared store's registry.
type RegistryCheck struct {
	Statements int    `json:"statements"`
	Chains     int    `json:"chains"` // named by the registry
	NewestAt   string `json:"newest_signed_at,omitempty"`
	Problem    string `json:"problem,omitempty"`
}

// signRegistry signs a registry statement in tx; the writer holds its
// chain's row lock or has just taken it.
func (s *Store) signRegistry(ctx context.Context, tx txn) error {
	rows, err := tx.QueryContext(ctx, `SELECT c.chain, COALESCE(h.statement, ''), COALESCE(h.signature, '')
		FROM chains c LEFT JOIN LATERAL (
			SELECT statement, signature FROM signed_heads WHERE chain = c.chain ORDER BY id DESC LIMIT 1
		) h ON true ORDER BY c.chain`)
	if err != nil {
		return fmt.Errorf("reading the chains to register: %w", err)
	}
	st := RegistryStatement{Type: RegistryStatementType, KeyID: s.signer.KeyID(), SignedAt: s.now().UTC().Format(time.RFC3339Nano)}
	pub := s.signer.PublicKey()
	for rows.Next() {
		var e RegistryEntry
		var statement, signature string
		if err := rows.Scan(&e.Chain, &statement, &signature); err != nil {
			rows.Close()
			return err
		}
		if statement != "" {
			if head, err := (SignedHead{Statement: json.RawMessage(statement), Signature: signature}).Open(pub); err == nil && head.Chain == e.Chain {
				e.Seq, e.Hash = head.Seq, head.Hash
			}
		}
		st.Chains = append(st.Chains, e)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	msg, err := pdatajson.CanonicalJSON(st)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO registry_heads (signed_ms, statement, signature) VALUES (?, ?, ?)`,
		s.now().UnixMilli(), string(msg), s.signer.SignBase64(msg)); err != nil {
		return fmt.Errorf("storing the signed registry: %w", err)
	}
	return nil
}

// openRegistry checks a registry statement under the trusted key it names.
func openRegistry(keys Keyring, statement, signature string) (RegistryStatement, error) {
	var st RegistryStatement
	if err := json.Unmarshal([]byte(statement), &st); err != nil {
		return st, fmt.Errorf("the statement is not JSON: %w", err)
	}
	pub, ok := keys[st.KeyID]
	if !ok {
		return st, fmt.Errorf("signed by key %s, not by a trusted key (%s)", st.KeyID, keys.IDs())
	}
	if err := signing.VerifyBase64(pub, []byte(statement), signature); err != nil {
		return st, fmt.Errorf("%w: the statement or its signature was changed", err)
	}
	if st.Type != RegistryStatementType {
		return st, fmt.Errorf("the statement's type is %q, not %q", st.Type, RegistryStatementType)
	}
	return st, nil
}

// verifyFleet verifies every chain of a shared store and its registry:
// each chain named by a signed registry statement must exist and reach the
// head it names there.
func verifyFleet(ctx context.Context, tx txn, keys Keyring, expect map[string][]Link) (Report, error) {
	names, err := chainNamesIn(ctx, tx)
	if err != nil {
		return Report{}, err
	}
	report := Report{OK: true, Anchored: keys != nil, KeyID: keys.IDs()}
	exists := map[string]bool{}
	for _, n := range names {
		exists[n] = true
	}
	if keys != nil {
		reg, err := checkRegistry(ctx, tx, keys, exists, expect)
		if err != nil {
			return Report{}, err
		}
		report.Registry = &reg
		if reg.Problem != "" {
			report.OK, report.Problem = false, "registry: "+reg.Problem
		}
	}
	for _, name := range names {
		r, err := verifyChain(ctx, tx, name, keys, expect[name])
		if err != nil {
			return Report{}, fmt.Errorf("chain %q: %w", name, err)
		}
		report.Chains = append(report.Chains, r)
		report.Records += r.Records
		report.UnsignedRecords += r.UnsignedRecords
		report.UnvouchedRecords += r.UnvouchedRecords
		if !r.OK && report.OK {
			report.OK, report.FirstBad, report.Problem = false, r.FirstBad, fmt.Sprintf("chain %q: %s", name, r.Problem)
		}
	}
	return report, nil
}

// checkRegistry checks every registry statement, notes a chain one names
// that the store no longer has, and adds the heads they name to expect.
func checkRegistry(ctx context.Context, tx txn, keys Keyring, exists map[string]bool, expect map[string][]Link) (RegistryCheck, error) {
	var reg RegistryCheck
	rows, err := tx.QueryContext(ctx, `SELECT statement, signature FROM registry_heads ORDER BY id`)
	if err != nil {
		return reg, fmt.Errorf("reading the registry: %w", err)
	}
	defer rows.Close()
	named := map[string]Link{}
	namedAt := map[string]string{}
	for rows.Next() {
		var statement, signature string
		if err := rows.Scan(&statement, &signature); err != nil {
			return reg, err
		}
		reg.Statements++
		st, err := openRegistry(keys, statement, signature)
		if err != nil {
			reg.Problem = joinProblem(reg.Problem, fmt.Sprintf("the registry statement #%d: %v", reg.Statements, err))
			continue
		}
		reg.NewestAt = st.SignedAt
		for _, e := range st.Chains {
			if prev, ok := named[e.Chain]; !ok || e.Seq > prev.Seq {
				named[e.Chain] = Link{Seq: e.Seq, Hash: e.Hash}
			}
			if _, ok := namedAt[e.Chain]; !ok {
				namedAt[e.Chain] = st.SignedAt
			}
		}
	}
	if err := rows.Err(); err != nil {
		return reg, err
	}
	if reg.Statements == 0 && len(exists) > 0 {
		reg.Problem = "no signed registry: nothing shows which chains the store had (every writer with a key signs one when it opens its chain)"
	}
	reg.Chains = len(named)
	missing := make([]string, 0)
	for chain, head := range named {
		if !exists[chain] {
			missing = append(missing, chain)
			continue
		}
		if head.Hash != "" {
			expect[chain] = append(expect[chain], head)
		}
	}
	sort.Strings(missing)
	for _, chain := range missing {
		reg.Problem = joinProblem(reg.Problem, fmt.Sprintf("chain %q, registered at %s, is missing: it was deleted", chain, namedAt[chain]))
	}
	return reg, nil
}
