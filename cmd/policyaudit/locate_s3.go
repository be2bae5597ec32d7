// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/policyaudit/policyaudit/internal/s3client"
)

// s3Location is where an exporter's objects are.
type s3Location struct {
	bucket, region, endpoint, prefix string
	pathStyle                        bool
}

// locateAWSS3 reads awss3exporter's settings (also inside durable).
func locateAWSS3(ctx context.Context, use exporterUse, cid string, opts locateOptions) ([]located, error) {
	return locateS3(ctx, awsS3Location(use), cid, opts)
}

func awsS3Location(use exporterUse) s3Location {
	return s3Location{
		bucket: str(use.Config, "s3uploader", "s3_bucket"), region: str(use.Config, "s3uploader", "region"),
		endpoint: str(use.Config, "s3uploader", "endpoint"), prefix: s3Prefix(use),
		pathStyle: str(use.Config, "s3uploader", "s3_force_path_style") == "true",
	}
}

// locateS3Audit reads the s3audit exporter's settings; its prefix is the
// processor's partition prefix.
func locateS3Audit(ctx context.Context, use exporterUse, cid string, opts locateOptions) ([]located, error) {
	return locateS3(ctx, s3AuditLocation(use), cid, opts)
}

func s3AuditLocation(use exporterUse) s3Location {
	prefix := str(use.Processor, "partition", "prefix")
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	return s3Location{
		bucket: str(use.Config, "bucket"), region: str(use.Config, "region"), endpoint: str(use.Config, "endpoint"),
		prefix: prefix, pathStyle: str(use.Config, "force_path_style") == "true",
	}
}

// locateS3 lists the objects under the location's prefix, one date
// partition with --date, and reads them with the AWS SDK's default
// credential chain.
func locateS3(ctx context.Context, loc s3Location, cid string, opts locateOptions) ([]located, error) {
	return findInS3(ctx, loc, byCorrelationID(cid), opts)
}

// findInS3 is locateS3 for any matcher.
func findInS3(ctx context.Context, loc s3Location, m matcher, opts locateOptions) ([]located, error) {
	bucket := loc.bucket
	if bucket == "" {
		return nil, errors.New("the exporter names no bucket")
	}
	client, err := s3client.New(ctx, loc.region, loc.endpoint, loc.pathStyle)
	if err != nil {
		return nil, err
	}
	prefix := loc.prefix
	if opts.Date != "" {
		prefix += "date=" + opts.Date + "/"
	}
	var out []located
	pages := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing s3://%s/%s: %w", bucket, prefix, err)
		}
		for _, obj := range page.Contents {
			if strings.Contains(aws.ToString(obj.Key), "/_digest/") {
				continue // the digests list objects; they hold no records
			}
			got, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: obj.Key})
			if err != nil {
				return nil, fmt.Errorf("reading s3://%s/%s: %w", bucket, aws.ToString(obj.Key), err)
			}
			recs, err := matchingRecords(got.Body, m)
			got.Body.Close()
			if err != nil {
				return nil, fmt.Errorf("reading s3://%s/%s: %w", bucket, aws.ToString(obj.Key), err)
			}
			for _, r := range recs {
				out = append(out, located{Where: "s3://" + bucket + "/" + aws.ToString(obj.Key), Record: r})
			}
		}
	}
	return out, nil
}

// s3Prefix is where the date partitions start: the processor's partition
// prefix when the key comes from the record (resource_attrs_to_s3), else
// the exporter's own s3_prefix.
func s3Prefix(use exporterUse) string {
	prefix := str(use.Config, "s3uploader", "s3_prefix")
	if str(use.Config, "resource_attrs_to_s3", "s3_prefix") != "" {
		prefix = str(use.Processor, "partition", "prefix")
	}
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	return prefix
}
