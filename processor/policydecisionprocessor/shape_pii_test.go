// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package policydecisionprocessor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/policyaudit/policyaudit/internal/dialects"
	"github.com/policyaudit/policyaudit/internal/plogutil"
	"github.com/policyaudit/policyaudit/internal/record"
	"github.com/policyaudit/policyaudit/internal/testfixtures"
)

// identityRules puts a PII rule on every field that identifies a person, a
// key or a machine, in each mode (redact on the user's hash would hide
// nothing more: hash it, and redact the address).
var identityRules = map[string]string{
	record.FieldPolicyUser:                      PIIHash,
	record.FieldAPIKeyID:                        PIIBlock,
	record.FieldProjectID:                       PIIRedact,
	record.FieldActor + "." + record.SubfieldID: PIIHash,
	record.FieldActor + "." + record.SubfieldIP: PIIRedact,
	// An admin event's details quote what changed: a key's alias, a user.
	record.FieldDetails: PIIRedact,
}

// rawIdentities are the values those fields have in every fixture before
// the policy.
func rawIdentities(t *testing.T) map[string]bool {
	raw := map[string]bool{}
	for _, d := range dialects.All {
		for _, name := range d.Fixtures {
			body, err := os.ReadFile(filepath.Join(testfixtures.Dir, name))
			require.NoError(t, err)
			recs, err := dialects.NormalizeBody(d, body)
			require.NoError(t, err)
			for _, r := range recs {
				for _, v := range []string{r.PolicyUser, r.APIKeyID, r.Actor.ID, r.Actor.IP} {
					if v != "" && v != "unknown" { // the contract's word for no actor
						raw[v] = true
					}
				}
			}
		}
	}
	require.Greater(t, len(raw), 10, "the fixtures carry identities to hide")
	return raw
}

// Issue 27: with a PII rule on every identity field, no raw value reaches
// any attribute or body of any destination's shape, through the receiver's
// canonical bodies or as raw gateway payloads. A shape that read the record
// as it came in, not the header and the map after the policy, would fail.
func TestNoRawIdentityReachesAnyShape(t *testing.T) {
	raw := rawIdentities(t)
	shapes := map[string]func(*Config){
		"otlp":            func(c *Config) { c.Destination = DestinationOTLP },
		"elasticsearch":   func(c *Config) { c.Destination = DestinationElasticsearch },
		"splunk_hec":      func(c *Config) { c.Destination = DestinationSplunkHEC },
		"datadog":         func(c *Config) { c.Destination = DestinationDatadog },
		"ocsf":            func(c *Config) { c.Destination, c.OCSF.Findings = DestinationOCSF, true },
		"ocsf for splunk": func(c *Config) { c.Destination, c.OCSF.Findings, c.OCSF.SplunkHEC = DestinationOCSF, true, true },
	}
	for name, set := range shapes {
		t.Run(name, func(t *testing.T) {
			cfg := createDefaultConfig()
			set(cfg)
			cfg.IDKey = "an-id-key-of-32-bytes-for-tests!"
			cfg.PII.HashKey = "a-hash-key-of-32-bytes-for-test!"
			cfg.PII.Fields = identityRules
			require.NoError(t, cfg.Validate())
			in := plog.NewLogs()
			for _, d := range dialects.All {
				if d.Path == "" {
					continue // pulled and normalised by its own receiver
				}
				for _, f := range d.Fixtures {
					fixtureLogs(t, f).ResourceLogs().MoveAndAppendTo(in.ResourceLogs())
					if d.Detect == nil {
						receiverLogs(t, f, record.Hints{}).ResourceLogs().MoveAndAppendTo(in.ResourceLogs())
					}
				}
			}
			out, _ := runProcessor(t, cfg, in)
			require.Positive(t, out.LogRecordCount())
			plogutil.Each(out, func(lr plog.LogRecord) {
				assertNoRaw(t, raw, "body", lr.Body())
				for key, v := range lr.Attributes().All() {
					assertNoRaw(t, raw, "attribute "+key, v)
				}
			})
		})
	}
}

// assertNoRaw fails on any string in v that is, or quotes, a raw identity.
func assertNoRaw(t *testing.T, raw map[string]bool, where string, v pcommon.Value) {
	t.Helper()
	switch v.Type() {
	case pcommon.ValueTypeStr:
		s := v.Str()
		for r := range raw {
			if s == r || len(r) >= 6 && strings.Contains(s, r) {
				t.Errorf("%s carries the raw identity %q: %q", where, r, s)
			}
		}
	case pcommon.ValueTypeMap:
		for k, e := range v.Map().All() {
			assertNoRaw(t, raw, where+"."+k, e)
		}
	case pcommon.ValueTypeSlice:
		for i := 0; i < v.Slice().Len(); i++ {
			assertNoRaw(t, raw, where, v.Slice().At(i))
		}
	}
}

// Issue 29: the shipped sidecar applies the data policy before its journal
// (so no raw identity is written to disk) and its destination pipelines
// apply it again: a second pass must change nothing, or the hashes would be
// hashes of hashes and differ from the audit store's.
func TestTheDataPolicyTwiceIsTheDataPolicyOnce(t *testing.T) {
	cfg := createDefaultConfig()
	cfg.IDKey = "an-id-key-of-32-bytes-for-tests!"
	cfg.PII.HashKey = "a-hash-key-of-32-bytes-for-test!"
	cfg.PII.Fields = identityRules
	require.NoError(t, cfg.Validate())
	in := plog.NewLogs()
	for _, d := range dialects.All {
		if d.Path == "" {
			continue
		}
		for _, f := range d.Fixtures {
			fixtureLogs(t, f).ResourceLogs().MoveAndAppendTo(in.ResourceLogs())
		}
	}
	once, _ := runProcessor(t, cfg, in)
	require.Positive(t, once.LogRecordCount())
	again := plog.NewLogs()
	once.CopyTo(again)
	twice, _ := runProcessor(t, cfg, again)
	require.Equal(t, once.LogRecordCount(), twice.LogRecordCount())
	var first, second []map[string]any
	plogutil.Each(once, func(lr plog.LogRecord) { first = append(first, lr.Body().Map().AsRaw()) })
	plogutil.Each(twice, func(lr plog.LogRecord) { second = append(second, lr.Body().Map().AsRaw()) })
	require.Equal(t, first, second)
	hashed := 0
	for _, rec := range first {
		if u, ok := rec[record.FieldPolicyUser].(string); ok && record.IsKeyedHash(u) {
			hashed++
		}
	}
	require.Positive(t, hashed, "the users are hashed")
}

// Issue 29: after the journal, a destination's instance gets records whose
// resource carries the canonical instance's date partition: it is not
// passed on (Splunk would index it), and an instance that partitions writes
// its own.
func TestAnEarlierInstancesRoutingAttributesAreNotPassedOn(t *testing.T) {
	in := plog.NewLogs()
	for _, d := range dialects.All {
		if d.Path == "" {
			continue
		}
		for _, f := range d.Fixtures {
			fixtureLogs(t, f).ResourceLogs().MoveAndAppendTo(in.ResourceLogs())
		}
	}
	canonical, _ := runProcessor(t, createDefaultConfig(), in)
	_, ok := canonical.ResourceLogs().At(0).Resource().Attributes().Get(defaultPartitionAttribute)
	require.True(t, ok, "the canonical instance partitions by date")

	splunk := createDefaultConfig()
	splunk.Destination = DestinationSplunkHEC
	again := plog.NewLogs()
	canonical.CopyTo(again)
	out, _ := runProcessor(t, splunk, again)
	require.Positive(t, out.LogRecordCount())
	for _, rl := range out.ResourceLogs().All() {
		_, ok := rl.Resource().Attributes().Get(defaultPartitionAttribute)
		require.False(t, ok, "a partition attribute reached a SIEM's shape")
	}

	s3 := createDefaultConfig()
	s3.Partition.Attribute = "policyaudit.s3_prefix"
	again = plog.NewLogs()
	canonical.CopyTo(again)
	out, _ = runProcessor(t, s3, again)
	for _, rl := range out.ResourceLogs().All() {
		attrs := rl.Resource().Attributes()
		_, stale := attrs.Get(defaultPartitionAttribute)
		own, ok := attrs.Get("policyaudit.s3_prefix")
		require.False(t, stale)
		require.True(t, ok)
		require.Contains(t, own.Str(), "date=")
	}
}
