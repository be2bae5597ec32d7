// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/policyaudit/policyaudit/internal/auditstore"
	"github.com/policyaudit/policyaudit/internal/evidence"
	"github.com/policyaudit/policyaudit/internal/s3client"
	"github.com/policyaudit/policyaudit/internal/s3digest"
	"github.com/policyaudit/policyaudit/internal/signing"
)

// evidenceS3Trails reads, for each s3audit exporter of the config, the
// signed digests from the one covering from to those that start before
// to+after (the objects holding the range's last records are written after
// its end), and checks them as verify s3 does. It returns the trails and
// the digests' public keys (from the exporters' digest keys).
func evidenceS3Trails(ctx context.Context, cfg collectorConfig, keys auditstore.Keyring, from, to time.Time, after time.Duration) ([]evidence.S3Trail, []ed25519.PublicKey, error) {
	var trails []evidence.S3Trail
	var pubs []ed25519.PublicKey
	for _, use := range cfg.exporters() {
		if use.Type != "s3audit" {
			continue
		}
		pub, err := digestPublicKey(use)
		if err != nil {
			return nil, nil, fmt.Errorf("exporter %s: %w", use.ID, err)
		}
		pubs = append(pubs, pub)
		trusted := auditstore.Keyring{signing.KeyID(pub): pub}
		for id, k := range keys {
			trusted[id] = k
		}
		loc := s3AuditLocation(use)
		v := &s3Trail{bucket: loc.bucket, digestPrefix: strings.TrimSuffix(str(use.Config, "digest", "prefix"), "/"), keys: trusted, from: from}
		if v.client, err = s3client.New(ctx, loc.region, loc.endpoint, loc.pathStyle); err != nil {
			return nil, nil, err
		}
		all, inWindow, err := v.readDigests(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("exporter %s: %w", use.ID, err)
		}
		var digests []s3digest.Signed
		for _, d := range inWindow {
			if start, _ := time.Parse(s3digest.TimeLayout, d.Digest.Start); start.Before(to.Add(after)) {
				digests = append(digests, d)
			}
		}
		where := fmt.Sprintf("exporter %s (s3://%s/%s)", use.ID, v.bucket, v.digestPrefix)
		if len(digests) == 0 {
			return nil, nil, fmt.Errorf("%s: no digest covers the range yet (one is written every digest.interval)", where)
		}
		v.to = to
		v.checkChain(all, digests)
		if len(v.problems) > 0 {
			return nil, nil, fmt.Errorf("%s: the digests do not cover the range intact (wait for the next digest, or leave them out with --s3=false): %s", where, strings.Join(v.problems, "; "))
		}
		trails = append(trails, evidence.S3Trail{Bucket: v.bucket, DigestPrefix: v.digestPrefix, Digests: digests})
	}
	return trails, pubs, nil
}

// digestPublicKey is the public key of an s3audit exporter's digest key.
func digestPublicKey(use exporterUse) (ed25519.PublicKey, error) {
	keyPEM := []byte(str(use.Config, "digest", "key"))
	if path := str(use.Config, "digest", "key_file"); path != "" {
		var err error
		if keyPEM, err = os.ReadFile(path); err != nil {
			return nil, fmt.Errorf("digest.key_file: %w", err)
		}
	}
	signer, err := signing.ParsePrivateKey(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("digest key: %w", err)
	}
	return signer.PublicKey(), nil
}
