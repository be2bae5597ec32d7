// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

// Command mutants plants, one at a time, small bugs in the code behind the
// README's guarantees and runs the tests of the package that holds each; a
// bug the tests do not catch survives, and the command fails naming it.
// `make mutants` runs it (CI too): a guarantee whose tests stop guarding it
// shows up here rather than in a review.
package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// mutant is one planted bug: the first and only occurrence of from in file
// becomes to; pkg's tests (run: a -run pattern, or all) must then fail.
type mutant struct {
	name, file, from, to, pkg, run string
}

var mutants = []mutant{
	// Issue 26's four, and the S3 digest's hash.
	{"checkpoint of any kind passes for a retention checkpoint", "internal/auditstore/verify.go",
		"retained = retained || st.Reason == SignedForRetention", "retained = true", "./internal/auditstore", ""},
	{"stored time may go back", "internal/auditstore/verify.go",
		"case storedMS < c.storedMS:", "case false && storedMS < c.storedMS:", "./internal/auditstore", ""},
	{"one record over the limit is accepted", "receiver/policygatewayreceiver/handler.go",
		"lrs.Len()+len(recs) > r.limits.MaxRecords {", "lrs.Len()+len(recs) > r.limits.MaxRecords+1 {", "./receiver/policygatewayreceiver", ""},
	{"value files' directory not synced before the commit", "extension/queuestorageextension/client.go",
		"if len(names) > 0 {\n\t\tif err := c.blobs.syncDir()", "if false && len(names) > 0 {\n\t\tif err := c.blobs.syncDir()", "./extension/queuestorageextension", ""},
	{"value files not synced", "extension/queuestorageextension/blobs.go",
		"if err == nil && d.fsync {", "if err == nil && false && d.fsync {", "./extension/queuestorageextension", ""},
	{"digest lists the hash of the gzip bytes", "exporter/s3auditexporter/objects.go",
		"o.name(filePrefix, sha256.Sum256(o.lines), \"jsonl.gz\")", "o.name(filePrefix, sha256.Sum256(append([]byte{0x1f, 0x8b}, o.lines...)), \"jsonl.gz\")", "./exporter/s3auditexporter", ""},
	// Issue 25: a restart must not vouch for what it found.
	{"a restart signs a head it did not append to", "internal/auditstore/store.go",
		"s.headSeq < s.vouchedFrom ||", "s.headSeq == 0 ||", "./internal/auditstore", ""},
	{"a restart vouches from the start of the chain", "internal/auditstore/vouch.go",
		"s.vouchedFrom = s.headSeq + 1", "s.vouchedFrom = 1", "./internal/auditstore", ""},
	{"verification ignores vouched_from", "internal/auditstore/verify.go",
		"if from == 0 { // signed before heads named what they vouch for", "if true { // signed before heads named what they vouch for", "./internal/auditstore", ""},
	{"a forged newest head is served as the store's own", "internal/auditstore/vouch.go",
		"s.lastSigned, s.signedSeq = nil, cp.Seq", "s.signedSeq = cp.Seq", "./internal/auditstore", ""},
	{"unvouched records exit 0", "cmd/policyaudit/verify.go",
		"return exitUnvouched", "return 0", "./cmd/policyaudit", ""},
	{"verify s3 takes a trail copied from another bucket", "cmd/policyaudit/verify_s3.go",
		"if d.Bucket == v.bucket && ", "if true && ", "./cmd/policyaudit", ""},
	{"digests carry no store head", "exporter/s3auditexporter/digester.go",
		"AuditStoreHead: head,", "AuditStoreHead: nil,", "./exporter/s3auditexporter", ""},
	// Issue 27: the prompt fields a dialect declares are dropped.
	{"a LiteLLM field quoting the prompt is kept", "internal/dialect/litellm/litellm.go",
		`BodyFields: []string{"guardrail_request", `, `BodyFields: []string{`, "./processor/policydecisionprocessor", "TestLiteLLMPromptFieldsAreBodies"},
	{"retention cuts at a record no signature vouched for", "internal/auditstore/store.go",
		"if !ok {\n\t\t\treturn 0, nil\n\t\t}\n\t\tthrough = h.Seq", "if false && !ok {\n\t\t\treturn 0, nil\n\t\t}\n\t\tthrough = max(h.Seq, last.Seq)", "./internal/auditstore", ""},
	{"retention purges without checking the links", "internal/auditstore/store.go",
		"if err := checkPrefix(ctx, tx, chain, through); err != nil {", "if err := checkPrefix(ctx, tx, chain, min(through, 0)); err != nil {", "./internal/auditstore", ""},
	// Issue 28: the Kafka sidecar's 200 waits for every replica in sync.
	{"the Kafka sidecar acknowledges on the leader's write alone", "config/examples/kafka.yaml",
		"      required_acks: all\n", "      required_acks: 1\n", "./test/e2e", "TestKafkaExampleAcknowledgesWhatTheReplicasHold"},
	// Issue 28: a shared store's chains cannot fork, disappear or reorder.
	{"a fenced writer still appends", "internal/auditstore/postgres.go",
		"if epoch != s.epoch {", "if false && epoch != s.epoch {", "./internal/auditstore", "TestTwoWritersOfOneChainCannotForkIt"},
	{"a chain the registry names may be missing", "internal/auditstore/registry.go",
		"if !exists[chain] {\n\t\t\tmissing = append(missing, chain)", "if false && !exists[chain] {\n\t\t\tmissing = append(missing, chain)", "./internal/auditstore", "TestVerifySharedNames"},
	{"order_key spreads a request's records", "processor/policydecisionprocessor/processor.go",
		"record.OrderBucket(rec.CorrelationID, n)", "record.OrderBucket(rec.EventID, n)", "./processor/policydecisionprocessor", "TestOrderKey"},
	// Issue 29: the journal in front of the shipped sidecar's destinations.
	{"a pipeline's failed batch is given up as if refused for good", "connector/journalconnector/connector.go",
		"case consumererror.IsPermanent(err):", "case err != nil:", "./connector/journalconnector", "TestEveryPipelineGetsEveryRecord"},
	{"the journal releases what a slower pipeline has not taken", "connector/journalconnector/connector.go",
		"c.j.release(low)", "c.j.release(p)", "./connector/journalconnector", "TestEveryPipelineGetsEveryRecord"},
	{"a full journal takes more", "connector/journalconnector/journal.go",
		"if j.total+size > j.maxBytes {", "if false && j.total+size > j.maxBytes {", "./connector/journalconnector", "TestAFullJournal"},
	{"a hash is hashed again by the pipeline after the journal", "processor/policydecisionprocessor/datapolicy.go",
		"if s := l.AsString(); !record.IsKeyedHash(s) {", "if s := l.AsString(); true {", "./processor/policydecisionprocessor", "TestTheDataPolicyTwice"},
	// Issue 31: the archive.
	{"a shortened retention passes verify s3", "cmd/policyaudit/verify_s3.go",
		"case got.RetainUntil < want.RetainUntil:", "case false:", "./test/e2e", "TestS3ArchiveIsLockedAndEncrypted"},
	{"an evidence run may start inside its range", "internal/evidence/verify.go",
		"case first.StoredMS < from.UnixMilli():", "case true:", "./internal/evidence", ""},
	{"an evidence bundle ignores vouched_from", "internal/evidence/verify.go",
		"range auditstore.Unvouched(start, last, vouched)", "range auditstore.Unvouched(start, min(last, start-1), vouched)", "./internal/evidence", "TestARewrite"},
	{"the store's key signs a bundle it did not check", "internal/evidence/export.go",
		"	if !res.OK {", "	if false {", "./internal/evidence", "TestARewrite"},
	// Issue 30: tokens.
	{"the vault is never asked: values leave as they came", "processor/policydecisionprocessor/processor.go",
		"if err := p.tokenize(ctx, pending); err != nil {", "if err := error(nil); err != nil {", "./processor/policydecisionprocessor", "Token|Derived"},
	{"an erased entry stays in the write-ahead log", "internal/auditstore/vault.go",
		"return token, true, s.scrub(ctx)", "return token, true, nil", "./internal/auditstore", "TestForget"},
	{"a token is tokenised again", "extension/auditstoreextension/vault.go",
		"		if held[v] {", "		if false && held[v] {", "./processor/policydecisionprocessor", "TestTokenize"},
	{"a forged token passes as a token", "extension/auditstoreextension/vault.go",
		"		if held[v] {", "		if held[v] || record.IsToken(v) {", "./processor/policydecisionprocessor", "TestTokenize"},
	{"a caller without the admin token searches by a person's value", "internal/auditapi/subjects.go",
		"if !a.admin || a.lookup == nil", "if a.lookup == nil", "./extension/auditstoreextension", "TestAPersonIsFound"},
	// Issue 29: Elasticsearch, as a real node shows it.
	{"a document answered 429 is given up after the exporter's two retries", "config/examples/all.yaml",
		"        max_retries: 1000000\n", "", "./test/e2e", "TestElasticsearchRejectionsAreRetriedNotDropped"},
	{"verify looks a correlation ID up as a term alone", "cmd/policyaudit/locate_elasticsearch.go",
		`"/logs-*/_search", correlationQuery(field, cid))`, `"/logs-*/_search", map[string]any{"size": 100, "query": map[string]any{"term": map[string]any{field: cid}}})`, "./test/e2e", "TestVerifyFindsElasticsearchRecordsWhateverTheMapping"},
	// Issue 31: evidence of a fleet and of the S3 trail; usage in the store.
	{"an evidence bundle takes a head signed by a key not given", "internal/evidence/export.go",
		"if _, ok := keys[hst.KeyID]; !ok {", "if _, ok := keys[hst.KeyID]; false && !ok {", "./internal/evidence", "TestAFleetBundle"},
	{"a digest's store head is not compared with the bundle's link", "internal/evidence/s3trail.go",
		"ok && hash != st.Hash {", "ok && false && hash != st.Hash {", "./internal/evidence", "TestABundleCarriesTheS3Digests"},
	{"the store keeps no usage columns", "internal/auditstore/entry.go",
		"	usageColumns(&c, num, get)\n", "", "./internal/auditstore", "Usage"},
	// Issue 32: metrics and SIEM content.
	{"a user is a label of the decision metrics", "connector/decisionmetricsconnector/connector.go",
		"record.FieldEffectiveDecision, record.FieldRolloutMode}", "record.FieldEffectiveDecision, record.FieldRolloutMode, record.FieldPolicyUser}", "./connector/decisionmetricsconnector", "TestRecordsAreCounted"},
	{"a metrics label of any length is kept", "connector/decisionmetricsconnector/connector.go",
		"!known && (len(c.counts) >= c.cfg.MaxSeries || !s.fits())", "!known && len(c.counts) >= c.cfg.MaxSeries", "./connector/decisionmetricsconnector", "TestHostile"},
	{"the spike rule fires on a change to any policy", "deploy/prometheus/policyaudit-rules.yaml",
		"expr: policyaudit:deny_spike and on (policy_id) policyaudit:policy_changed:1h", "expr: policyaudit:deny_spike and on () count(policyaudit:policy_changed:1h)", "./test/siem", "TestRulesPassPromtool"},
	{"the Athena table loses a field of the record", "deploy/siem/athena/policyaudit_records.sql",
		"  reason_code string,\n", "", "./test/siem", "TestAthenaTableHasTheRecordsFields"},
	{"verify reports a look-alike correlation ID", "cmd/policyaudit/locate_elasticsearch.go",
		"got != cid {", "got != cid && false {", "./test/e2e", "TestVerifyFindsElasticsearchRecordsWhateverTheMapping"},
}

func main() {
	root, err := os.Getwd()
	if err != nil {
		fail(err)
	}
	interrupted := make(chan os.Signal, 1)
	signal.Notify(interrupted, os.Interrupt, syscall.SIGTERM)
	// MUTANTS=text tries only the mutants whose name holds text (while
	// writing a test for one); CI tries them all.
	only := os.Getenv("MUTANTS")
	tried := 0
	var survived []string
	for _, m := range mutants {
		if only != "" && !strings.Contains(m.name, only) {
			continue
		}
		tried++
		select {
		case <-interrupted:
			fail(fmt.Errorf("interrupted"))
		default:
		}
		caught, took, err := try(root, m)
		if err != nil {
			fail(fmt.Errorf("%s: %w", m.name, err))
		}
		verdict := "caught"
		if !caught {
			verdict = "SURVIVED"
			survived = append(survived, m.name)
		}
		fmt.Printf("%-9s %-60s %s (%s)\n", verdict, m.name, m.pkg, took.Round(100*time.Millisecond))
	}
	fmt.Printf("%d mutants, %d caught, %d survived\n", tried, tried-len(survived), len(survived))
	if len(survived) > 0 {
		os.Exit(1)
	}
}

// try plants m, runs its package's tests and restores the file, whatever
// happens.
func try(root string, m mutant) (caught bool, took time.Duration, err error) {
	path := filepath.Join(root, m.file)
	orig, err := os.ReadFile(path)
	if err != nil {
		return false, 0, err
	}
	if n := bytes.Count(orig, []byte(m.from)); n != 1 {
		return false, 0, fmt.Errorf("%s holds %q %d times, not once: the list is out of date", m.file, m.from, n)
	}
	mutated := bytes.Replace(orig, []byte(m.from), []byte(m.to), 1)
	if err := os.WriteFile(path, mutated, 0o644); err != nil {
		return false, 0, err
	}
	defer func() {
		if rerr := os.WriteFile(path, orig, 0o644); rerr != nil && err == nil {
			err = rerr
		}
	}()
	args := []string{"test", "-count=1", m.pkg}
	if m.run != "" {
		args = append(args, "-run", m.run)
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	runErr := cmd.Run()
	took = time.Since(start)
	if runErr == nil {
		return false, took, nil
	}
	if strings.Contains(out.String(), "[build failed]") || strings.Contains(out.String(), "[setup failed]") {
		return false, took, fmt.Errorf("the mutant does not compile:\n%s", out.String())
	}
	return true, took, nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "mutants:", err)
	os.Exit(2)
}
