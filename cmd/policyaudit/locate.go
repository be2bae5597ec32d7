// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/policyaudit/policyaudit/exporter/azurelogsingestionexporter"
)

// Lookup outcomes, one per configured destination.
const (
	statusFound      = "found"
	statusMissing    = "MISSING"
	statusError      = "ERROR"
	statusNotQueried = "not queried"
)

// finding is what one destination answered.
type finding struct {
	Exporter string
	Status   string
	Detail   string
}

// located is one copy of the record found in a destination.
type located struct {
	Where  string         // object key, index/_id, seq
	Record map[string]any // the canonical record as stored there
}

// locator looks a correlation ID up in one kind of destination.
type locator func(ctx context.Context, use exporterUse, correlationID string, opts locateOptions) ([]located, error)

type locateOptions struct {
	Date   string // YYYY-MM-DD: narrows the S3 and file listings to one date partition
	Config collectorConfig
	Client *http.Client
}

var locators = map[string]locator{
	"awss3":         locateAWSS3,
	"s3audit":       locateS3Audit,
	"elasticsearch": locateElasticsearch,
	"auditstore":    locateAuditStore,
	"file":          locateFile,
}

// notQueryable says where to look instead, for destinations that offer no
// read API to a collector's credentials.
var notQueryable = map[string]func(use exporterUse, cid string) string{
	"splunk_hec": func(use exporterUse, cid string) string {
		index := str(use.Processor, "splunk", "index")
		if index == "" {
			index = str(use.Config, "index")
		}
		return fmt.Sprintf("HEC accepts events only; in Splunk search: index=%s correlation_id=%q", orDefault(index, "main"), cid)
	},
	"azure_logs_ingestion": func(_ exporterUse, cid string) string {
		return "the Logs Ingestion API only writes (reading takes Log Analytics Reader); in Microsoft Sentinel, Logs: " + azurelogsingestionexporter.CorrelationQuery(cid)
	},
	"datadog":      datadogSearch,
	"datadog_logs": datadogSearch,
}

// datadogSearch is where to look in Datadog: reading logs back takes an
// application key, which a collector does not hold.
func datadogSearch(_ exporterUse, cid string) string {
	return fmt.Sprintf("the Logs API needs an application key; in Log Explorer search: @correlation_id:%s", cid)
}

// locate is `policyaudit verify --correlation-id ID --config FILE...`: it
// finds the record in every destination the collector config exports logs
// to, and exits 1 if any queryable destination lacks it.
func locate(ctx context.Context, correlationID string, configs []string, date string, stdout, stderr io.Writer) int {
	cfg, err := loadCollectorConfig(configs)
	if err != nil {
		fmt.Fprintln(stderr, "verify: reading the collector config:", err)
		return 2
	}
	uses := cfg.exporters()
	if len(uses) == 0 {
		fmt.Fprintln(stderr, "verify: the config has no logs pipeline with exporters")
		return 2
	}
	opts := locateOptions{Date: date, Config: cfg, Client: &http.Client{Timeout: 30 * time.Second}}
	var findings []finding
	for _, use := range uses {
		findings = append(findings, locateIn(ctx, use, correlationID, opts))
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "correlation_id %s\n", correlationID)
	code := 0
	for _, f := range findings {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", f.Exporter, f.Status, f.Detail)
		if f.Status == statusMissing || f.Status == statusError {
			code = 1
		}
	}
	_ = tw.Flush()
	return code
}

func locateIn(ctx context.Context, use exporterUse, cid string, opts locateOptions) finding {
	f := finding{Exporter: use.ID}
	if use.Type == "durable" {
		// The durable exporter wraps another: look where that one writes.
		use.Type, use.Config = str(use.Config, "exporter"), mapAt(use.Config, "settings")
	}
	loc, ok := locators[use.Type]
	if !ok {
		f.Status = statusNotQueried
		if hint, ok := notQueryable[use.Type]; ok {
			f.Detail = hint(use, cid)
		} else {
			f.Detail = "no lookup for exporter type " + use.Type
		}
		return f
	}
	found, err := loc(ctx, use, cid, opts)
	switch {
	case err != nil:
		f.Status, f.Detail = statusError, err.Error()
	case len(found) == 0:
		f.Status, f.Detail = statusMissing, "no record with this correlation_id"
	default:
		f.Status = statusFound
		parts := make([]string, 0, len(found))
		for _, l := range found {
			parts = append(parts, l.Where+" "+summary(l.Record))
		}
		f.Detail = strings.Join(parts, "; ")
	}
	return f
}

// summary is what a reader checks first: the verdict and the policy version,
// or the admin action.
func summary(rec map[string]any) string {
	if rec["event_kind"] == "admin_audit" {
		return fmt.Sprintf("(%v %v)", rec["action"], rec["outcome"])
	}
	return fmt.Sprintf("(%v by %v@%v)", rec["decision"], rec["policy_id"], rec["policy_version"])
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// getJSON sends req and decodes a 200 answer into out.
func getJSON(client *http.Client, req *http.Request, out any) error {
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %s: %s", req.Method, req.URL.Redacted(), resp.Status, strings.TrimSpace(string(body)))
	}
	return json.Unmarshal(body, out)
}

// correlationFlags are verify's lookup flags.
type correlationFlags struct {
	id      string
	date    string
	configs stringList
}

func (c *correlationFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.id, "correlation-id", "", "look this correlation ID up in every destination of --config")
	fs.StringVar(&c.date, "date", "", "YYYY-MM-DD: only list that date's partition in S3 and file exports")
	fs.Var(&c.configs, "config", "collector config file (repeatable, merged in order like the collector's --config)")
}

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }
