package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// locateS3 lists the objects awss3exporter wrote, one date partition with
// --date, and reads them with the AWS SDK's default credential chain.
func locateS3(ctx context.Context, use exporterUse, cid string, opts locateOptions) ([]located, error) {
	bucket := str(use.Config, "s3uploader", "s3_bucket")
	if bucket == "" {
		return nil, errors.New("the exporter has no s3uploader.s3_bucket")
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(orDefault(str(use.Config, "s3uploader", "region"), "us-east-1")))
	if err != nil {
		return nil, fmt.Errorf("AWS credentials: %w", err)
	}
	client := s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		if ep := str(use.Config, "s3uploader", "endpoint"); ep != "" {
			o.BaseEndpoint = aws.String(ep)
		}
		o.UsePathStyle = str(use.Config, "s3uploader", "s3_force_path_style") == "true"
	})
	prefix := s3Prefix(use)
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
			got, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: obj.Key})
			if err != nil {
				return nil, fmt.Errorf("reading s3://%s/%s: %w", bucket, aws.ToString(obj.Key), err)
			}
			recs, err := matchingLines(got.Body, cid)
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
