// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

// Package s3client builds the S3 client that the s3audit exporter and the
// policyaudit command share: the AWS SDK's default credential chain, an
// optional endpoint (an S3-compatible store) and path-style addressing.
package s3client // import "github.com/policyaudit/policyaudit/internal/s3client"
import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// New returns an S3 client for region (us-east-1 when empty); opts add to
// the SDK's configuration (the exporter's HTTP client).
func New(ctx context.Context, region, endpoint string, pathStyle bool, opts ...func(*config.LoadOptions) error) (*s3.Client, error) {
	if region == "" {
		region = "us-east-1"
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, append([]func(*config.LoadOptions) error{config.WithRegion(region)}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("AWS configuration: %w", err)
	}
	return s3.NewFromConfig(awsCfg, func(o *s3.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
		o.UsePathStyle = pathStyle
	}), nil
}
