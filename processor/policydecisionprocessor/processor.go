// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package policydecisionprocessor

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unsafe"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processorhelper"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/policyaudit/policyaudit/internal/dialects"
	"github.com/policyaudit/policyaudit/internal/jsonbody"
	"github.com/policyaudit/policyaudit/internal/ocsf"
	"github.com/policyaudit/policyaudit/internal/record"
	"github.com/policyaudit/policyaudit/processor/policydecisionprocessor/internal/metadata"
)

type policyProcessor struct {
	cfg       *Config
	logger    *zap.Logger
	telemetry *metadata.TelemetryBuilder
	policy    *dataPolicy
	namer     *record.Namer
	product   ocsf.Product // what OCSF events name as their product
	shape     shape        // how the destination wants each record written
	// classInPrefix: the partition prefix names each OCSF event's class.
	classInPrefix bool
	// makesFindings: destination ocsf writes a Detection Finding beside an
	// enforced deny or escalation.
	makesFindings bool
	vault         tokenVault // pii.vault, found at start when a rule tokenizes
	now           func() time.Time
}

// tokenVault is what the auditstore extension offers for tokenize.
type tokenVault interface {
	KeepsVault() bool
	Tokenize(ctx context.Context, values []string) ([]string, error)
}

func newPolicyProcessor(set processor.Settings, cfg *Config) (*policyProcessor, error) {
	tb, err := metadata.NewTelemetryBuilder(set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	product := ocsf.Product{Name: "policyaudit", Vendor: "policyaudit", Version: set.BuildInfo.Version}
	return &policyProcessor{
		cfg:           cfg,
		logger:        set.Logger,
		telemetry:     tb,
		policy:        newDataPolicy(cfg),
		namer:         record.NewNamer([]byte(cfg.IDKey)),
		product:       product,
		shape:         newShape(cfg, product),
		classInPrefix: cfg.Destination == DestinationOCSF && strings.Contains(cfg.Partition.Prefix, classPlaceholder),
		makesFindings: cfg.Destination == DestinationOCSF && cfg.OCSF.Findings,
		now:           time.Now,
	}, nil
}

// start finds the vault of tokenize rules among the collector's extensions
// (started before the pipelines): without one it can reach, the processor
// does not start.
func (p *policyProcessor) start(_ context.Context, host component.Host) error {
	if !p.policy.tokenizes() {
		return nil
	}
	id := *p.cfg.PII.Vault
	ext, ok := host.GetExtensions()[id]
	if !ok {
		return fmt.Errorf("pii.vault: the extension %s is not configured (list it under extensions and service.extensions)", id)
	}
	v, ok := ext.(tokenVault)
	if !ok {
		return fmt.Errorf("pii.vault: the extension %s is not an audit store: it keeps no token vault", id)
	}
	if !v.KeepsVault() {
		return fmt.Errorf("pii.vault: the audit store %s keeps no vault: set its vault.key (e.g. ${env:POLICYAUDIT_VAULT_KEY})", id)
	}
	p.vault = v
	return nil
}

func (p *policyProcessor) shutdown(context.Context) error {
	p.telemetry.Shutdown()
	return nil
}

// partitionKey groups output records by their source resource and scope and
// by the date partition they belong to.
type partitionKey struct {
	resource, scope int
	date            string
	class           string // the OCSF class, when the partition prefix names it ({class})
	bucket          uint32 // the correlation ID's order_key bucket, when order_key is on
}

// classPlaceholder in partition.prefix is replaced by each OCSF event's
// class name: Amazon Security Lake takes one class per custom source.
const classPlaceholder = "{class}"

// keyFor is the partition of a record (an OCSF event of class, for
// destination ocsf).
func (p *policyProcessor) keyFor(ri, si int, rec *record.Record, class int64) partitionKey {
	key := partitionKey{resource: ri, scope: si, date: rec.PartitionDate()}
	if p.classInPrefix {
		key.class = ocsf.ClassName(class)
	}
	if n := p.cfg.OrderKey.Buckets; n > 0 {
		// No date: a request crossing midnight keeps one key.
		key.date, key.bucket = "", record.OrderBucket(rec.CorrelationID, n)
	}
	return key
}

// scope is the output scope of a partition, made on first use.
func (p *policyProcessor) scope(out plog.Logs, resources map[partitionKey]plog.ResourceLogs, scopes map[partitionKey]plog.LogRecordSlice, rl plog.ResourceLogs, sl plog.ScopeLogs, key partitionKey) plog.LogRecordSlice {
	dest, ok := scopes[key]
	if !ok {
		dest = p.scopeFor(out, resources, rl, sl, key)
		scopes[key] = dest
	}
	return dest
}

// processLogs normalises every record and regroups them so that each output
// resource holds one date partition: the file and S3 exporters partition by a
// resource attribute, and a batch may span midnight. Records are written in
// two passes: the first puts each canonical record in its output log record,
// the second (after the batch's one call to the vault, with tokenize rules)
// derives the IDs, applies the data policy and shapes each.
func (p *policyProcessor) processLogs(ctx context.Context, ld plog.Logs) (plog.Logs, error) {
	out := plog.NewLogs()
	resources := make(map[partitionKey]plog.ResourceLogs)
	scopes := make(map[partitionKey]plog.LogRecordSlice)
	var counts counters
	recs := make([]*record.Record, 0, 4) // reused: no list per record
	var header record.Record             // reused: no header per record
	pending := make([]pendingRecord, 0, ld.LogRecordCount())
	rls := ld.ResourceLogs()
	for ri := 0; ri < rls.Len(); ri++ {
		rl := rls.At(ri)
		sls := rl.ScopeLogs()
		for si := 0; si < sls.Len(); si++ {
			sl := sls.At(si)
			lrs := sl.LogRecords()
			for li := 0; li < lrs.Len(); li++ {
				lr := lrs.At(li)
				var canonicalBody bool
				recs, canonicalBody = p.normalize(recs[:0], lr, &counts)
				if len(recs) > 1 {
					// Each record writes its own body: the payload need not
					// be copied to each.
					lr.Body().SetStr("")
				}
				for i, rec := range recs {
					dest := p.scope(out, resources, scopes, rl, sl, p.keyFor(ri, si, rec, ocsf.ClassOf(rec)))
					nlr := dest.AppendEmpty()
					// One input can be several records (a LiteLLM call's
					// guardrails): each starts from the input's log record.
					if i == len(recs)-1 {
						lr.MoveTo(nlr)
					} else {
						lr.CopyTo(nlr)
					}
					pr := pendingRecord{rec: rec, lr: nlr, canonical: p.prepare(rec, &header, nlr, canonicalBody)}
					if p.makesFindings && ocsf.WantsFinding(rec) {
						// Its place, beside the record, kept for the second pass.
						pr.finding = p.scope(out, resources, scopes, rl, sl, p.keyFor(ri, si, rec, ocsf.ClassDetectionFinding)).AppendEmpty()
						pr.hasFinding = true
					}
					pending = append(pending, pr)
				}
			}
		}
	}
	if err := p.tokenize(ctx, pending); err != nil {
		// Nothing is acknowledged without its tokens on the vault's disk:
		// the sender retries the batch.
		return out, fmt.Errorf("policydecision: pii.vault: %w", err)
	}
	for i := range pending {
		p.complete(&pending[i], &header)
		counts.record(pending[i].rec)
	}
	counts.report(ctx, p.telemetry)
	if out.LogRecordCount() == 0 {
		// Every record was dropped: do not call the next consumer.
		return out, processorhelper.ErrSkipProcessingData
	}
	return out, nil
}

// pendingRecord is a record written into its output log record, waiting
// for the second pass.
type pendingRecord struct {
	rec        *record.Record
	lr         plog.LogRecord
	canonical  pcommon.Map    // the canonical record in lr's body
	finding    plog.LogRecord // where its OCSF Detection Finding goes, with hasFinding
	hasFinding bool
}

func (p *policyProcessor) scopeFor(out plog.Logs, resources map[partitionKey]plog.ResourceLogs, rl plog.ResourceLogs, sl plog.ScopeLogs, key partitionKey) plog.LogRecordSlice {
	rkey := partitionKey{resource: key.resource, scope: -1, date: key.date, class: key.class, bucket: key.bucket}
	nrl, ok := resources[rkey]
	if !ok {
		nrl = out.ResourceLogs().AppendEmpty()
		rl.Resource().CopyTo(nrl.Resource())
		p.dropRoutingAttributes(nrl.Resource().Attributes())
		nrl.SetSchemaUrl(rl.SchemaUrl())
		if p.cfg.OrderKey.Buckets > 0 {
			nrl.Resource().Attributes().PutInt(p.cfg.OrderKey.Attribute, int64(key.bucket))
		} else if p.partitioned() {
			nrl.Resource().Attributes().PutStr(p.cfg.Partition.Attribute, p.partitionValue(key))
		}
		resources[rkey] = nrl
	}
	nsl := nrl.ScopeLogs().AppendEmpty()
	sl.Scope().CopyTo(nsl.Scope())
	nsl.SetSchemaUrl(sl.SchemaUrl())
	return nsl.LogRecords()
}

// dropRoutingAttributes removes the resource attributes an instance before
// this one wrote for its own exporter (a date partition, an order key: the
// shipped sidecar's canonical instance writes them before its journal): a
// SIEM would index them, and this instance writes its own below.
func (p *policyProcessor) dropRoutingAttributes(attrs pcommon.Map) {
	for _, name := range []string{defaultPartitionAttribute, defaultOrderKeyAttribute, p.cfg.Partition.Attribute, p.cfg.OrderKey.Attribute} {
		attrs.Remove(name)
	}
}

// partitioned: the records go to storage partitioned by date (S3, files),
// not to a SIEM that would index the partition attribute.
func (p *policyProcessor) partitioned() bool {
	return p.cfg.Destination == DestinationOTLP || p.cfg.Destination == DestinationOCSF && !p.cfg.OCSF.SplunkHEC
}

func (p *policyProcessor) partitionValue(key partitionKey) string {
	part := "date=" + key.date
	if p.cfg.Partition.Layout == LayoutSecurityLake {
		part = "eventDay=" + strings.ReplaceAll(key.date, "-", "")
	}
	if p.cfg.Partition.Prefix == "" {
		return part
	}
	return strings.ReplaceAll(p.cfg.Partition.Prefix, classPlaceholder, key.class) + "/" + part
}

// normalize reads a body that is already exactly a canonical record (what
// the policygateway receiver hands on, whoever else touched it since: the
// check is on the content), or else decodes the record in lr's body and
// normalises it. A record that fails validation is flagged (and kept) or
// dropped, per on_error.
// The records are appended to dst.
func (p *policyProcessor) normalize(dst []*record.Record, lr plog.LogRecord, counts *counters) (recs []*record.Record, canonicalBody bool) {
	if lr.Body().Type() == pcommon.ValueTypeMap {
		if rec, err := record.ReadCanonical(lr.Body().Map()); err == nil {
			return append(dst, rec), true
		}
	}
	return p.normalizeRaw(dst, lr, counts), false
}

// normalizeRaw normalises the records in lr's body the long way: a gateway
// dialect's payload (LiteLLM, Kong) may hold several, or none.
func (p *policyProcessor) normalizeRaw(dst []*record.Record, lr plog.LogRecord, counts *counters) []*record.Record {
	hints := record.Hints{EventName: lr.EventName()}
	if tid := lr.TraceID(); !tid.IsEmpty() {
		hints.TraceID = hex.EncodeToString(tid[:])
		if sid := lr.SpanID(); !sid.IsEmpty() {
			hints.SpanID = hex.EncodeToString(sid[:])
		}
	}
	if ts := lr.Timestamp(); ts != 0 {
		hints.Timestamp = ts.AsTime()
	}

	var rec *record.Record
	raw, err := decodeBody(lr.Body())
	if err == nil {
		recs, gateway, nerr := dialects.Normalize(dst, raw, hints)
		if nerr == nil {
			return recs
		}
		err = nerr
		if !gateway && len(recs) > len(dst) {
			// The contract's normaliser filled the record as far as the
			// input allows: flagged, it keeps what it could read.
			rec = recs[len(recs)-1]
		} else {
			// Not the raw body: a gateway's payload holds the prompt.
			rec = &record.Record{Kind: record.KindDecision, PolicyVersion: record.UnknownPolicyVersion}
		}
	} else {
		rec = rawBodyRecord(lr)
	}

	reason := errorReason(err)
	if p.cfg.OnError == OnErrorDrop {
		counts.schemaError(reason, "dropped")
		return dst
	}
	counts.schemaError(reason, "flagged")
	rec.SchemaError = err.Error()
	p.fillGaps(rec, lr)
	return append(dst, rec)
}

// rawBodyRecord is the flagged record of a body that could not be mapped:
// the body itself, truncated, under extra.
func rawBodyRecord(lr plog.LogRecord) *record.Record {
	rec := &record.Record{Kind: record.KindDecision, PolicyVersion: record.UnknownPolicyVersion}
	rec.Extra = map[string]any{"raw_body": record.TruncateUTF8(lr.Body().AsString(), 16<<10)}
	return rec
}

// fillGaps gives a flagged record the time every destination needs to file
// it: the log record's, else when it was observed (its IDs are derived like
// any record's, in write).
func (p *policyProcessor) fillGaps(rec *record.Record, lr plog.LogRecord) {
	if rec.CreatedAt.IsZero() {
		switch {
		case lr.Timestamp() != 0:
			rec.CreatedAt = lr.Timestamp().AsTime()
		case lr.ObservedTimestamp() != 0:
			rec.CreatedAt = lr.ObservedTimestamp().AsTime()
		default:
			rec.CreatedAt = p.now()
		}
		rec.CreatedAt = rec.CreatedAt.UTC().Truncate(time.Millisecond)
	}
}

// decodeBody accepts a map body, or a string or bytes body holding a JSON object.
func decodeBody(body pcommon.Value) (jsonbody.Value, error) {
	switch body.Type() {
	case pcommon.ValueTypeMap:
		return record.ValueOfMap(body.Map()), nil
	case pcommon.ValueTypeStr:
		// The decoder only reads the text and copies what it keeps: no copy of the body.
		return jsonbody.DecodeObject(unsafe.Slice(unsafe.StringData(body.Str()), len(body.Str())), jsonbody.DefaultLimits)
	case pcommon.ValueTypeBytes:
		return jsonbody.DecodeObject(body.Bytes().AsRaw(), jsonbody.DefaultLimits)
	default:
		return jsonbody.Value{}, &record.FieldError{Field: "body", Reason: record.ReasonInvalidType, Msg: "must be a map or a JSON object, got " + body.Type().String()}
	}
}

func errorReason(err error) string {
	var fe *record.FieldError
	if errors.As(err, &fe) {
		return fe.Reason
	}
	var je *jsonbody.Error
	if errors.As(err, &je) {
		return je.Reason
	}
	return "invalid"
}

// prepare puts the canonical record into lr's body (where the destination
// wants it) without prompt text, and returns the map that holds it; header
// is where the record's header is kept meanwhile.
func (p *policyProcessor) prepare(rec, header *record.Record, lr plog.LogRecord, canonicalBody bool) pcommon.Map {
	rec.HeaderTo(header) // the document around the record needs its time and kind
	var canonical pcommon.Map
	if canonicalBody {
		canonical = p.shape.keep(header, lr.Body())
	} else {
		canonical = p.shape.container(header, lr.Body())
		rec.CopyTo(canonical)
	}
	// Dropped before the IDs are derived: no ID may stand for text that
	// never leaves.
	p.policy.dropBodies(canonical)
	return canonical
}

// tokenize replaces every value under a tokenize rule, in the whole batch,
// with its token from the vault: one call for the batch.
func (p *policyProcessor) tokenize(ctx context.Context, pending []pendingRecord) error {
	if !p.policy.tokenizes() {
		return nil
	}
	var leaves []pcommon.Value
	for i := range pending {
		leaves = p.policy.tokenLeaves(pending[i].canonical, leaves)
	}
	if len(leaves) == 0 {
		return nil
	}
	values := make([]string, len(leaves))
	for i, l := range leaves {
		values[i] = l.AsString()
	}
	tokens, err := p.vault.Tokenize(ctx, values)
	if err != nil {
		return err
	}
	if len(tokens) != len(leaves) {
		return fmt.Errorf("the vault answered %d tokens for %d values", len(tokens), len(leaves))
	}
	for i, l := range leaves {
		l.SetStr(tokens[i])
	}
	return nil
}

// complete derives the record's missing IDs, applies the rest of the data
// policy and writes what the destination reads: timestamps, trace context,
// event name, attributes, and the OCSF Detection Finding in its place.
func (p *policyProcessor) complete(pr *pendingRecord, header *record.Record) {
	rec, canonical, lr := pr.rec, pr.canonical, pr.lr
	// Named after tokens replaced values (an ID then stands for the token)
	// and before the other PII rules rewrite anything (keyed then), so the
	// same record gets the same IDs in every pipeline.
	if p.policy.tokenizes() {
		p.namer.Name(rec, canonical) // rec's fields still hold the values: read the map
	} else {
		p.namer.NameCanonical(rec, canonical)
	}
	p.policy.apply(canonical)

	// From here on the record is what leaves the collector: its header,
	// which no PII rule may change, and the canonical map after the policy.
	rec.HeaderTo(header) // with the IDs just derived
	header.SetLogRecordFields(lr)
	if lr.ObservedTimestamp() == 0 {
		lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(p.now()))
	}
	finding, ok := p.shape.finish(header, canonical, lr)
	if ok && pr.hasFinding {
		flr := pr.finding
		lr.CopyTo(flr)
		finding.body.MoveTo(flr.Body().SetEmptyMap())
		finding.indexed.finding(flr.Attributes(), finding.class, finding.typeUID)
	}
}

// counters aggregates a batch's per-record events so metrics are recorded
// once per batch, not once per record.
type counters struct {
	records      map[[2]string]int64
	schemaErrors map[[2]string]int64
	generated    int64
	unknownVer   int64
}

func (c *counters) record(rec *record.Record) {
	if c.records == nil {
		c.records = make(map[[2]string]int64, 8)
	}
	c.records[[2]string{rec.Kind.String(), rec.Decision}]++
	if rec.CorrelationGenerated {
		c.generated++
	}
	if rec.PolicyVersion == record.UnknownPolicyVersion {
		c.unknownVer++
	}
}

func (c *counters) schemaError(reason, action string) {
	if c.schemaErrors == nil {
		c.schemaErrors = make(map[[2]string]int64, 2)
	}
	c.schemaErrors[[2]string{reason, action}]++
}

func (c *counters) report(ctx context.Context, tb *metadata.TelemetryBuilder) {
	for k, n := range c.records {
		tb.ProcessorPolicydecisionRecords.Add(ctx, n, metric.WithAttributes(
			attribute.String("event_kind", k[0]), attribute.String("decision", k[1])))
	}
	for k, n := range c.schemaErrors {
		tb.ProcessorPolicydecisionSchemaErrors.Add(ctx, n, metric.WithAttributes(
			attribute.String("reason", k[0]), attribute.String("action", k[1])))
	}
	if c.generated > 0 {
		tb.ProcessorPolicydecisionCorrelationIdsGenerated.Add(ctx, c.generated)
	}
	if c.unknownVer > 0 {
		tb.ProcessorPolicydecisionUnknownPolicyVersions.Add(ctx, c.unknownVer)
	}
}
