// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package policydecisionprocessor

import (
	"crypto/hmac"
	"crypto/sha256"
	"hash"
	"math"
	"regexp"
	"sort"
	"strings"
	"sync"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/policyaudit/policyaudit/internal/dialects"
	"github.com/policyaudit/policyaudit/internal/record"
)

// dataPolicy is what may leave the collector: prompts only with body logging
// on, API keys never raw, and each PII field redacted, hashed, blocked or
// tokenised.
type dataPolicy struct {
	rules       []piiRule
	tokenRules  []piiRule // the rules of mode tokenize, applied before the IDs are derived
	placeholder string
	bodyLogging bool
	hasKey      bool
	hmacs       sync.Pool // hash.Hash; HMAC state is not safe for concurrent use
}

type piiRule struct {
	path []string
	mode string
}

func newDataPolicy(cfg *Config) *dataPolicy {
	d := &dataPolicy{placeholder: cfg.PII.Placeholder, bodyLogging: cfg.BodyLogging, hasKey: len(cfg.PII.HashKey) > 0}
	key := []byte(cfg.PII.HashKey)
	d.hmacs.New = func() any { return hmac.New(sha256.New, key) }
	for path, mode := range cfg.PII.Fields {
		d.rules = append(d.rules, piiRule{path: strings.Split(path, "."), mode: mode})
	}
	// A deterministic order, so a rule on "actor" and one on "actor.id" always
	// apply the same way.
	sort.Slice(d.rules, func(i, j int) bool { return strings.Join(d.rules[i].path, ".") < strings.Join(d.rules[j].path, ".") })
	for _, r := range d.rules {
		if r.mode == PIITokenize {
			d.tokenRules = append(d.tokenRules, r)
		}
	}
	return d
}

// tokenizes reports rules of mode tokenize.
func (d *dataPolicy) tokenizes() bool { return len(d.tokenRules) > 0 }

// tokenLeaves appends to dst the values of m under tokenize rules, for the
// batch's one call to the vault (which keeps a token it minted as it is: a
// record an earlier instance tokenised keeps its tokens; a forged one is
// tokenised like any value). Empty values stay empty: they name nobody.
// They are replaced, and the IDs derived, before the other rules run: an ID
// then stands for the token, and after an erasure nothing, not even a keyed
// ID, ties a record to the value.
func (d *dataPolicy) tokenLeaves(m pcommon.Map, dst []pcommon.Value) []pcommon.Value {
	for _, r := range d.tokenRules {
		if v, ok := fieldAt(m, r.path); ok {
			eachLeaf(v, func(l pcommon.Value) {
				if l.AsString() != "" {
					dst = append(dst, l)
				}
			})
		}
	}
	return dst
}

// dropBodies removes prompt and completion text unless body logging is on.
// It runs before the record's identifiers are derived: text that never
// leaves the collector must not be recoverable from an ID either (an
// unkeyed ID is a hash anyone can recompute, and a prompt can be guessed).
func (d *dataPolicy) dropBodies(m pcommon.Map) {
	if !d.bodyLogging {
		if extra, ok := m.Get(record.FieldExtra); ok && extra.Type() == pcommon.ValueTypeMap {
			removeBodyFields(extra.Map())
			if in, ok := extra.Map().Get("input"); ok && in.Type() == pcommon.ValueTypeMap {
				removeBodyFields(in.Map())
			}
		}
	}
	dropEmptyExtra(m)
}

// apply enforces the rest of the policy (secrets, PII rules) on a canonical
// record, after dropBodies and after its identifiers are derived.
func (d *dataPolicy) apply(m pcommon.Map) {
	d.scrubSecrets(m)
	for _, r := range d.rules {
		d.applyRule(m, r)
	}
	dropEmptyExtra(m)
}

func removeBodyFields(m pcommon.Map) {
	m.RemoveIf(func(k string, _ pcommon.Value) bool { return dialects.BodyFields[k] })
}

// scrubSecrets replaces anything that looks like a credential: the API key
// ID and an actor ID as a whole, by prefix or entropy, and in every other
// string of the record each embedded token of a well-known key format, so a
// key pasted into a reason or a detail never leaves either.
func (d *dataPolicy) scrubSecrets(m pcommon.Map) {
	if v, ok := m.Get(record.FieldAPIKeyID); ok && v.Type() == pcommon.ValueTypeStr && looksLikeSecret(v.Str()) {
		v.SetStr(d.protect(v.Str()))
	}
	if actor, ok := m.Get(record.FieldActor); ok && actor.Type() == pcommon.ValueTypeMap {
		if v, ok := actor.Map().Get(record.SubfieldID); ok && v.Type() == pcommon.ValueTypeStr && looksLikeSecret(v.Str()) {
			v.SetStr(d.protect(v.Str()))
		}
	}
	m.Range(func(k string, v pcommon.Value) bool {
		if !identityFields[k] {
			eachString(v, func(s pcommon.Value) {
				if scrubbed, changed := d.scrubTokens(s.Str()); changed {
					s.SetStr(scrubbed)
				}
			})
		}
		return true
	})
}

// identityFields are IDs and times the normaliser wrote: they are not
// scanned, so a trace ID is never mistaken for a key.
var identityFields = record.FieldNamesWith(record.RoleIdentity)

// secretToken matches the well-known credential formats (OpenAI, Anthropic,
// Stripe, GitHub, GitLab, Slack, Hugging Face, Google, AWS access key IDs)
// and bearer tokens, anywhere in a string, in any case and with - or _, as
// the normaliser may have upper-cased free text into a reason_code. Group 1
// is the character before the token (start or not a letter or digit), so
// "RISK_SCORE_..." is not read as an "sk_" key.
var secretToken = regexp.MustCompile(`(?i)(^|[^a-z0-9])((?:sk[-_]|rk[-_]live[-_]|gh[posu][-_]|github[-_]pat[-_]|glpat[-_]|xox[bpa][-_]|hf[-_]|aiza)[a-z0-9_\-]{16,}|(?:akia|asia)[a-z0-9]{16}|bearer\s+[a-z0-9._~+/=\-]{16,})`)

// scrubTokens protects each credential token in s.
func (d *dataPolicy) scrubTokens(s string) (string, bool) {
	if len(s) < 20 {
		return s, false
	}
	matches := secretToken.FindAllStringSubmatchIndex(s, -1)
	if matches == nil {
		return s, false
	}
	var b strings.Builder
	last := 0
	for _, m := range matches {
		tokenStart, tokenEnd := m[4], m[5]
		b.WriteString(s[last:tokenStart])
		b.WriteString(d.protect(s[tokenStart:tokenEnd]))
		last = tokenEnd
	}
	b.WriteString(s[last:])
	return b.String(), true
}

// protect is the keyed hash of a secret, or the placeholder without a key.
func (d *dataPolicy) protect(s string) string {
	if d.hasKey {
		return d.hash(s)
	}
	return d.placeholder
}

// fieldAt is the value at path in m.
func fieldAt(m pcommon.Map, path []string) (pcommon.Value, bool) {
	parent, ok := parentAt(m, path)
	if !ok {
		return pcommon.Value{}, false
	}
	return parent.Get(path[len(path)-1])
}

// parentAt is the map holding path's last element.
func parentAt(m pcommon.Map, path []string) (pcommon.Map, bool) {
	for _, k := range path[:len(path)-1] {
		v, ok := m.Get(k)
		if !ok || v.Type() != pcommon.ValueTypeMap {
			return pcommon.Map{}, false
		}
		m = v.Map()
	}
	return m, true
}

func (d *dataPolicy) applyRule(m pcommon.Map, r piiRule) {
	if r.mode == PIITokenize {
		return // done before the IDs were derived (tokenLeaves)
	}
	m, ok := parentAt(m, r.path)
	if !ok {
		return
	}
	last := r.path[len(r.path)-1]
	v, ok := m.Get(last)
	if !ok {
		return
	}
	switch r.mode {
	case PIIBlock:
		m.Remove(last)
	case PIIRedact:
		eachLeaf(v, func(l pcommon.Value) { l.SetStr(d.placeholder) })
	case PIIHash:
		eachLeaf(v, func(l pcommon.Value) {
			// A value this policy already hashed (a record that passed an
			// instance before the journal) keeps its hash: the rules apply
			// once however many instances a record passes.
			if s := l.AsString(); !record.IsKeyedHash(s) {
				l.SetStr(d.hash(s))
			}
		})
	}
}

// hash is the keyed hash of s under hash_key (record.KeyedHash), with the
// HMAC state pooled.
func (d *dataPolicy) hash(s string) string {
	h := d.hmacs.Get().(hash.Hash)
	h.Reset()
	h.Write([]byte(s))
	var sum [sha256.Size]byte
	out := record.AppendKeyedHash(make([]byte, 0, len(record.KeyedHashPrefix)+2*sha256.Size), h.Sum(sum[:0]))
	d.hmacs.Put(h)
	return string(out)
}

// eachLeaf calls fn for every scalar in v: a list or object is treated
// element by element, so its shape (and the destination's mapping) stays.
func eachLeaf(v pcommon.Value, fn func(pcommon.Value)) {
	switch v.Type() {
	case pcommon.ValueTypeMap:
		v.Map().Range(func(_ string, e pcommon.Value) bool { eachLeaf(e, fn); return true })
	case pcommon.ValueTypeSlice:
		s := v.Slice()
		for i := 0; i < s.Len(); i++ {
			eachLeaf(s.At(i), fn)
		}
	case pcommon.ValueTypeEmpty:
	default:
		fn(v)
	}
}

func eachString(v pcommon.Value, fn func(pcommon.Value)) {
	eachLeaf(v, func(l pcommon.Value) {
		if l.Type() == pcommon.ValueTypeStr {
			fn(l)
		}
	})
}

// secretPrefixes start well-known credential formats (OpenAI, Anthropic,
// Stripe, GitHub, GitLab, Slack, AWS, Google, Hugging Face) and bearer tokens.
var secretPrefixes = []string{
	"sk-", "sk_live_", "sk_test_", "rk_live_", "ghp_", "gho_", "ghs_", "ghu_", "github_pat_",
	"glpat-", "xoxb-", "xoxp-", "xoxa-", "AKIA", "ASIA", "AIza", "hf_", "Bearer ", "bearer ",
}

// looksLikeSecret reports a credential in a field that names a key or an
// actor: a well-known prefix on a long enough value, or a long random token.
func looksLikeSecret(s string) bool {
	if len(s) < 20 || record.IsToken(s) {
		return false
	}
	for _, p := range secretPrefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return isRandomToken(s)
}

// isRandomToken: 24 or more characters of a token alphabet, letters and
// digits mixed, at least 3.5 bits of entropy per character. UUIDs are IDs,
// not secrets, and are left alone.
func isRandomToken(s string) bool {
	if len(s) < 24 || isUUID(s) {
		return false
	}
	var counts [256]int
	letters, digits := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
			letters = true
		case c >= '0' && c <= '9':
			digits = true
		case c == '_' || c == '-' || c == '+' || c == '/' || c == '=' || c == '.':
		default:
			return false
		}
		counts[c]++
	}
	if !letters || !digits {
		return false
	}
	entropy := 0.0
	for _, n := range counts {
		if n > 0 {
			p := float64(n) / float64(len(s))
			entropy -= p * math.Log2(p)
		}
	}
	return entropy >= 3.5
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if c != '-' {
				return false
			}
			continue
		}
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// dropEmptyExtra omits extra when it is empty, as on a record that never
// had any.
func dropEmptyExtra(m pcommon.Map) {
	if extra, ok := m.Get(record.FieldExtra); ok && extra.Type() == pcommon.ValueTypeMap && extra.Map().Len() == 0 {
		m.Remove(record.FieldExtra)
	}
}
