// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package auditstoreextension

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path"
	"regexp"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"go.uber.org/zap"

	store "github.com/policyaudit/policyaudit/internal/auditstore"
	"github.com/policyaudit/policyaudit/internal/evidence"
	"github.com/policyaudit/policyaudit/internal/s3client"
)

// writeEvidence writes, evidence.delay after each period, the bundle of
// the period that ended (unless the target has it already: a restart
// writes nothing twice) and removes bundles past evidence.retention_days.
func (e *auditStore) writeEvidence(ctx context.Context, st *store.Store) {
	cfg := e.cfg.Evidence
	if cfg.Target == "" || st.Signer() == nil {
		return
	}
	bucket, prefix, _ := cfg.bucketAndPrefix()
	if chain := st.Chain(); chain != "" {
		// On a shared store each collector bundles its own chain, signed
		// with its own key (and expires its own bundles): the fleet's
		// bundles of a period together cover every chain.
		prefix = path.Join(prefix, "chain="+chain)
	}
	client, err := s3client.New(ctx, cfg.Region, cfg.Endpoint, cfg.ForcePathStyle)
	if err != nil {
		e.set.Logger.Error("Evidence bundles are off: no S3 client", zap.Error(err))
		return
	}
	ticker := time.NewTicker(min(cfg.Period, time.Minute))
	defer ticker.Stop()
	for {
		// The periods that ended lately, oldest first: one whose bundle
		// failed (or came while the collector was down) is written later.
		end := e.now().Add(-cfg.Delay).UTC().Truncate(cfg.Period)
		for back := evidenceCatchUp - 1; back >= 0; back-- {
			to := end.Add(-time.Duration(back) * cfg.Period)
			if err := e.writeBundle(ctx, st, client, bucket, prefix, to.Add(-cfg.Period), to); err != nil && ctx.Err() == nil {
				e.set.Logger.Warn("Writing the evidence bundle failed; it will be tried again", zap.Error(err))
			}
		}
		if cfg.RetentionDays > 0 {
			e.expireBundles(ctx, client, bucket, prefix)
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// bundleName is the name bundleKey gives a bundle.
var bundleName = regexp.MustCompile(`^evidence_\d{8}T\d{6}Z_\d{8}T\d{6}Z\.tar\.gz$`)

// evidenceCatchUp is how many of the latest periods are checked for a
// missing bundle each time.
const evidenceCatchUp = 3

// bundleKey names the bundle of [from, to).
func bundleKey(prefix string, from, to time.Time) string {
	const stamp = "20060102T150405Z"
	return path.Join(prefix, "date="+from.Format(time.DateOnly), "evidence_"+from.Format(stamp)+"_"+to.Format(stamp)+".tar.gz")
}

func (e *auditStore) writeBundle(ctx context.Context, st *store.Store, client *s3.Client, bucket, prefix string, from, to time.Time) error {
	opts := evidence.Options{From: from, To: to, Now: e.now()}
	if chain := st.Chain(); chain != "" {
		opts.Chains = []string{chain}
	}
	key := bundleKey(prefix, from, to)
	if _, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}); err == nil {
		return nil // written already
	}
	var b bytes.Buffer
	sum, err := evidence.Export(ctx, st, st.Signer(), opts, &b)
	if errors.Is(err, store.ErrNoClosingHead) {
		// No head signed since the period's end (nothing was appended
		// since the last signature): sign one now, again if unchanged,
		// and the bundle's runs close on it.
		if serr := st.SignHeadNow(ctx, store.SignedForExport); serr != nil {
			return fmt.Errorf("signing the head: %w", serr)
		}
		b.Reset()
		opts.Now = e.now()
		sum, err = evidence.Export(ctx, st, st.Signer(), opts, &b)
	}
	if err != nil {
		return fmt.Errorf("the bundle of %s to %s: %w", from.Format(time.RFC3339), to.Format(time.RFC3339), err)
	}
	if _, err := e.cfg.Evidence.Archive.Put(ctx, client, &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(b.Bytes()), ContentType: aws.String("application/gzip"),
	}, e.now()); err != nil {
		return fmt.Errorf("writing s3://%s/%s: %w", bucket, key, err)
	}
	e.set.Logger.Info("Evidence bundle written", zap.String("object", "s3://"+bucket+"/"+key),
		zap.Int("records", sum.Records), zap.String("from", sum.From), zap.String("to", sum.To))
	return nil
}

// expireBundles removes the bundles written more than retention_days ago
// (a locked one is refused by S3 until its date, and tried again later).
func (e *auditStore) expireBundles(ctx context.Context, client *s3.Client, bucket, prefix string) {
	cutoff := e.now().Add(-time.Duration(e.cfg.Evidence.RetentionDays) * 24 * time.Hour)
	listPrefix := prefix
	if listPrefix != "" {
		listPrefix += "/"
	}
	pages := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(listPrefix)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			e.set.Logger.Warn("Listing the evidence bundles failed", zap.Error(err))
			return
		}
		for _, o := range page.Contents {
			// Only the store's own bundles: the prefix may hold anything else.
			if o.LastModified == nil || !o.LastModified.Before(cutoff) || !bundleName.MatchString(path.Base(aws.ToString(o.Key))) {
				continue
			}
			if _, err := client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: o.Key}); err != nil {
				e.set.Logger.Info("An expired evidence bundle stays (locked, or not deletable)", zap.String("key", aws.ToString(o.Key)), zap.Error(err))
			}
		}
	}
}
