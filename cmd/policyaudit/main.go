// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

// Command policyaudit is the offline companion of the distribution: it
// verifies the audit store's hash chain in a database file or in exported
// JSON lines, exports the chain as JSON lines, and finds a correlation ID in
// every destination a collector config exports to.
//
//	policyaudit verify [--public-key PUB.pem] [--signed-head HEAD.json | --expect-head SEQ:HASH] audit.db
//	policyaudit verify [--from SEQ:HASH] [--public-key PUB.pem --signed-head HEAD.json] chain.jsonl...
//	policyaudit verify --postgres DSN [--public-key PUB.pem]...
//	policyaudit keygen --private-key KEY.pem [--public-key PUB.pem]
//	policyaudit pubkey KEY.pem
//	policyaudit verify --correlation-id ID --config FILE [--config FILE]... [--date YYYY-MM-DD]
//	policyaudit export audit.db > chain.jsonl
//	policyaudit normalize [--dialect NAME] [PAYLOAD]
//	policyaudit evidence export --from T --to T [--policy P] [--public-key FLEET.pem]... --out BUNDLE.tar.gz --config FILE...
//	policyaudit evidence verify BUNDLE.tar.gz --public-key PUB.pem...
//	policyaudit subject export --subject VALUE --config FILE... [--out FILE]
//	policyaudit subject erase --subject VALUE --reason TEXT --config FILE... [--actor NAME] [--since DATE] [--until DATE] [--format text|json]
package main

import (
	"context"
	"fmt"
	"io"
	"os"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

var usage = `usage:
  policyaudit verify [--public-key PUB.pem] [--signed-head HEAD.json | --expect-head SEQ:HASH | --from-s3 s3://BUCKET/PREFIX] FILE.db
  policyaudit verify [--from SEQ:HASH] [--public-key PUB.pem --signed-head HEAD.json] FILE.jsonl...
  policyaudit verify --postgres DSN [--public-key PUB.pem]...
  policyaudit verify --correlation-id ID --config FILE [--config FILE]... [--date YYYY-MM-DD]
  policyaudit export FILE.db
  policyaudit keygen --private-key KEY.pem [--public-key PUB.pem]
  policyaudit pubkey KEY.pem
  policyaudit normalize [--dialect NAME] [FILE]
  policyaudit evidence export --from T --to T [--policy P] [--gap 1h] [--chain C]... [--public-key FLEET.pem]... [--s3=false] [--s3-after 1h] --out BUNDLE.tar.gz --config FILE...
  policyaudit evidence verify BUNDLE.tar.gz --public-key PUB.pem [--public-key PUB2.pem]...
  policyaudit report usage --from T --to T --by project|user|model|policy [--format csv|json] --config FILE...
  policyaudit subject export --subject VALUE --config FILE... [--out FILE]
  policyaudit subject erase --subject VALUE --reason TEXT --config FILE... [--actor NAME]
                            [--since YYYY-MM-DD] [--until YYYY-MM-DD] [--format text|json]

verify prints "ok" and the chain's head, or the first broken record, and
exits 1 when the chain is broken. With --public-key it also checks the
store's signed heads and its retention checkpoint (a cut prefix, a rewritten
chain, another key's signature), and exits 3 when records before the newest
signed head were never vouched for by a signature (a crash before signing,
or a rewrite); with --signed-head, or --from-s3 (the heads the S3 digests
carry), the chain must reach and match heads kept off the host (a cut
tail, a rolled-back file, a rewrite countersigned by a restart). With
--postgres it verifies a fleet's shared store: every chain, and the signed
registry of chains (a deleted chain, a tail cut behind a head it names);
give --public-key once per key the fleet's collectors sign with.

keygen writes an Ed25519 signing key for the audit store (signing.key_file)
and prints its public key; pubkey prints the public key of a key file.

verify --correlation-id looks the ID up in every destination the collector
config exports logs to (S3, Elasticsearch, the audit store, JSON-lines files;
Splunk HEC and Datadog get the search to run there), prints where it was
found, and exits 1 when a queryable destination lacks it.

evidence export writes an evidence bundle for an auditor: the records
created in [--from, --to) (of one policy with --policy), the links that tie
them to a head the store signed after the range, the heads and the key, a
summary per policy and version (JSON, CSV, Markdown report), and a
manifest of every file's SHA-256 signed with the store's key (found, with
the store, from --config), with the signed S3 digests over the range of
the config's s3audit exporters. On a shared store whose collectors sign
with their own keys, give the others' public keys (--public-key) or one
chain (--chain). evidence verify checks a bundle with nothing but the
bundle and the public keys, and exits 1 naming every problem.

report usage adds up the usage (tokens, cost, denied share) of the
decisions created in [--from, --to) in the audit store of --config, by
project, user, model or policy, as CSV or JSON: a row per group, a cost
per currency.

subject export writes, as JSON lines, every decision and admin event the
audit store holds about a person (as user, as actor: by their token from
the vault, and by the value for records stored before it was tokenised),
each with its link, and a last line with the chain's verification and a
head signed for the export. subject erase deletes the person's vault entry
(their records keep a token tied to nobody), records a subject.erase admin
event, and reports, per destination of the config, the copies that still
hold the value or its keyed hash and what removes them (it deletes them in
Elasticsearch with the exporter's credentials). Both go through the audit
store's admin API (its admin.token from --config and the environment).

normalize prints, as JSON lines, the canonical records a payload (a file, or
standard input) becomes at the receiver's endpoint for its dialect, with the
IDs the processor derives without an id_key; it exits 1, with the receiver's
error, for a payload the receiver would refuse. The processor's data policy
(prompt text removed, PII rules) applies after it. Its dialects:
  ` + dialectUsage()

// run is main without the process: exit code 0 ok, 1 broken chain, 2 usage
// or I/O error.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	switch args[0] {
	case "verify":
		return verify(ctx, args[1:], stdout, stderr)
	case "export":
		return export(ctx, args[1:], stdout, stderr)
	case "keygen":
		return keygen(args[1:], stdout, stderr)
	case "pubkey":
		return pubkey(args[1:], stdout, stderr)
	case "normalize":
		return normalize(args[1:], os.Stdin, stdout, stderr)
	case "subject":
		return subject(ctx, args[1:], stdout, stderr)
	case "evidence":
		return evidenceCmd(ctx, args[1:], stdout, stderr)
	case "report":
		return report(ctx, args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprintln(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "unknown command %q\n%s\n", args[0], usage)
		return 2
	}
}
