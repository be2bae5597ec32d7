// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

// Package elasticsearch is a contract peer for the Elasticsearch exporter:
// an HTTP server that holds the documented contract of the Elasticsearch
// _bulk, _search and _delete_by_query APIs as far as policyaudit uses them, and refuses what a
// real cluster would refuse. The end-to-end and reliability tests run a
// real node (test/harness/elasticsearch.go); this peer stays where a node
// cannot show the case on demand (RejectNext: 429 per document, as a node
// under load answers) or would distort a figure (the throughput
// benchmarks), and for unit tests that run without a JVM (README.md here).
// Where it and the node disagreed, the node won: see README.md.
//
// What it checks on every _bulk request, as Elasticsearch 8 does:
//   - authentication (ApiKey) and the product header clients expect back;
//   - NDJSON terminated by a newline, gzip when Content-Encoding says so;
//   - each action line is one object with one of create, index, update,
//     delete, and names an index (in the line or the URL);
//   - each create/index is followed by a source line that is a JSON object;
//   - data streams (logs-*-*): only create, the source must have a
//     @timestamp, and data_stream.{type,dataset,namespace} in the source must
//     equal the parts of the stream's name;
//   - a data stream writes to its current backing index
//     (.ds-<stream>-<date>-<generation>); Rollover starts the next one;
//   - a create whose _id exists in the backing index written to is refused
//     with 409 version_conflict_engine_exception, so a replay does not
//     duplicate, until a rollover: _id is unique per backing index only;
//   - each backing index has a mapping: an index template's field types
//     (SetMapping) and dynamic mapping's for new fields (date detection on;
//     strings keyword, where Elasticsearch makes them text with a keyword
//     sub-field); a document whose value does not fit its field's type is
//     refused with 400 document_parsing_exception, as Elasticsearch refuses
//     it.
//
// Anything malformed at request level is answered 400 and recorded in
// Violations, so a test can assert the exporter never sent one.
package elasticsearch // import "github.com/policyaudit/policyaudit/test/peers/elasticsearch"
import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/policyaudit/policyaudit/test/peers/internal/peer"
)

// Doc is a stored document.
type Doc struct {
	Index   string         // the data stream or index written to
	Backing string         // the backing index holding it (Index itself for a plain index)
	ID      string         // _id
	Source  map[string]any // the document
}

// Server is the peer. Create it with Start.
type Server struct {
	peer.Base
	APIKey string

	mu          sync.Mutex
	docs        map[string]map[string]Doc // backing index -> _id -> doc, for lookups
	order       []Doc                     // the same documents in the order stored
	conflicts   int
	generations map[string]int     // data stream -> generation of its write index
	templates   map[string]mapping // data stream or index -> explicit field types
	mappings    map[string]mapping // backing index -> field types
	refused     map[string]int     // document_parsing_exception by field path
	rejecting   int                // bulk requests still to answer 429 per item
	rejected    int                // documents answered 429
}

// Start runs the peer on 127.0.0.1. apiKey "" accepts any request.
func Start(apiKey string) *Server {
	s := &Server{APIKey: apiKey, docs: map[string]map[string]Doc{}, generations: map[string]int{},
		templates: map[string]mapping{}, mappings: map[string]mapping{}, refused: map[string]int{}}
	s.Serve(s.serve)
	return s
}

// SetMapping gives a field of a data stream (or index) a type, as an index
// template written by someone else would: keyword, long, float, boolean,
// date or object. It applies to backing indices created after it.
func (s *Server) SetMapping(index, field, typ string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.templates[index] == nil {
		s.templates[index] = mapping{}
	}
	s.templates[index][field] = fieldType(typ)
}

// RejectNext answers every document of the next n bulk requests with 429
// es_rejected_execution_exception (in a 200 answer, errors: true), as a
// node whose write thread pool queue is full does: what a real node does
// under a load the tests cannot make on demand.
func (s *Server) RejectNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rejecting = n
}

// Rejected counts the documents answered 429.
func (s *Server) Rejected() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rejected
}

// Rollover starts a new backing index for a data stream, as its lifecycle
// policy (or POST <stream>/_rollover) does.
func (s *Server) Rollover(stream string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.generations[stream] = s.generation(stream) + 1
}

// Refused counts documents refused because a value did not fit its
// field's type, by field path.
func (s *Server) Refused() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.refused)
}

// generation is a data stream's current generation (1 at creation); s.mu is held.
func (s *Server) generation(stream string) int {
	return max(1, s.generations[stream])
}

// backingIndex is where a write to index goes, and its mapping, created
// from the template on first use; s.mu is held.
func (s *Server) backingIndex(index string, isDataStream bool) (string, mapping) {
	name := index
	if isDataStream {
		// Real names carry the creation date; a fixed one keeps them stable.
		name = fmt.Sprintf(".ds-%s-2026.01.01-%06d", index, s.generation(index))
	}
	m := s.mappings[name]
	if m == nil {
		m = maps.Clone(s.templates[index])
		if m == nil {
			m = mapping{}
		}
		s.mappings[name] = m
	}
	return name, m
}

// Docs returns every stored document, in the order they were stored.
func (s *Server) Docs() []Doc {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.order)
}

// Conflicts counts creates refused because their _id existed.
func (s *Server) Conflicts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conflicts
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Elastic-Product", "Elasticsearch")
	w.Header().Set("Content-Type", "application/json")
	if s.Down() {
		writeError(w, http.StatusServiceUnavailable, "cluster_block_exception", "peer is down for the test")
		return
	}
	if s.APIKey != "" {
		// Elasticsearch reads the scheme case-insensitively (clients send
		// "ApiKey" or "APIKey").
		scheme, key, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		if !strings.EqualFold(scheme, "ApiKey") || key != s.APIKey {
			writeError(w, http.StatusUnauthorized, "security_exception", "missing or wrong ApiKey authentication")
			return
		}
	}
	p := strings.Trim(r.URL.Path, "/")
	switch {
	case p == "" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		_ = json.NewEncoder(w).Encode(map[string]any{
			"name": "policyaudit-test-peer", "cluster_name": "policyaudit",
			"version": map[string]any{"number": "8.17.0", "build_flavor": "default"},
			"tagline": "You Know, for Search",
		})
	case p == "_bulk" || strings.HasSuffix(p, "/_bulk"):
		s.bulk(w, r, strings.TrimSuffix(strings.TrimSuffix(p, "_bulk"), "/"))
	case p == "_search" || strings.HasSuffix(p, "/_search"):
		s.search(w, r, strings.TrimSuffix(strings.TrimSuffix(p, "_search"), "/"))
	case strings.HasSuffix(p, "/_delete_by_query") && r.Method == http.MethodPost:
		s.deleteByQuery(w, r, strings.TrimSuffix(p, "/_delete_by_query"))
	default:
		writeError(w, http.StatusNotFound, "no_handler_found_exception", "no handler for "+r.Method+" "+r.URL.Path)
	}
}

func writeError(w http.ResponseWriter, status int, typ, reason string) {
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"error":  map[string]any{"type": typ, "reason": reason, "root_cause": []any{map[string]any{"type": typ, "reason": reason}}},
		"status": status,
	})
}

func (s *Server) violation(w http.ResponseWriter, format string, args ...any) {
	writeError(w, http.StatusBadRequest, "illegal_argument_exception", s.Violation(format, args...))
}

func readBody(r *http.Request) ([]byte, error) {
	var body io.Reader = r.Body
	switch r.Header.Get("Content-Encoding") {
	case "":
	case "gzip":
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			return nil, fmt.Errorf("Content-Encoding gzip: %w", err)
		}
		body = zr
	default:
		return nil, fmt.Errorf("unsupported Content-Encoding %q", r.Header.Get("Content-Encoding"))
	}
	return io.ReadAll(io.LimitReader(body, 100<<20))
}

// action is one parsed bulk action line.
type action struct {
	op    string
	index string
	id    string
}

func (s *Server) bulk(w http.ResponseWriter, r *http.Request, urlIndex string) {
	if r.Method != http.MethodPost && r.Method != http.MethodPut {
		s.violation(w, "_bulk: method %s, want POST or PUT", r.Method)
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.Contains(ct, "x-ndjson") && !strings.Contains(ct, "application/json") {
		s.violation(w, "_bulk: Content-Type %q is not NDJSON", ct)
		return
	}
	body, err := readBody(r)
	if err != nil {
		s.violation(w, "_bulk: %v", err)
		return
	}
	if len(body) == 0 || body[len(body)-1] != '\n' {
		s.violation(w, "_bulk: the bulk request must be terminated by a newline [\\n]")
		return
	}
	type pending struct {
		act    action
		source map[string]any
	}
	var ops []pending
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 50<<20)
	line := 0
	for sc.Scan() {
		line++
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		act, err := parseAction(sc.Bytes(), urlIndex)
		if err != nil {
			s.violation(w, "_bulk line %d: %v", line, err)
			return
		}
		p := pending{act: act}
		if act.op != "delete" {
			if !sc.Scan() {
				s.violation(w, "_bulk line %d: %s action without a source line", line, act.op)
				return
			}
			line++
			if err := json.Unmarshal(sc.Bytes(), &p.source); err != nil || p.source == nil {
				s.violation(w, "_bulk line %d: the source is not a JSON object: %v", line, err)
				return
			}
		}
		ops = append(ops, p)
	}
	if err := sc.Err(); err != nil {
		s.violation(w, "_bulk: %v", err)
		return
	}

	start := time.Now()
	items := make([]any, 0, len(ops))
	failed := false
	s.mu.Lock()
	reject := s.rejecting > 0
	if reject {
		s.rejecting--
	}
	for _, op := range ops {
		var status int
		var res, errType, reason string
		if reject {
			s.rejected++
			status, errType, reason = http.StatusTooManyRequests, "es_rejected_execution_exception", "rejected execution of coordinating operation: the write thread pool's queue is full (peer)"
		} else {
			status, res, errType, reason = s.apply(op.act, op.source)
		}
		item := map[string]any{"_index": op.act.index, "_id": op.act.id, "status": status}
		if _, _, _, isDS := dataStream(op.act.index); isDS && op.act.op == "create" {
			item["_index"], _ = s.backingIndex(op.act.index, true)
		}
		if errType != "" {
			failed = true
			item["error"] = map[string]any{"type": errType, "reason": reason}
		} else {
			item["result"] = res
		}
		items = append(items, map[string]any{op.act.op: item})
	}
	s.mu.Unlock()
	_ = json.NewEncoder(w).Encode(map[string]any{"took": time.Since(start).Milliseconds(), "errors": failed, "items": items})
}

func parseAction(line []byte, urlIndex string) (action, error) {
	var m map[string]map[string]any
	if err := json.Unmarshal(line, &m); err != nil {
		return action{}, fmt.Errorf("malformed action/metadata line: %w", err)
	}
	if len(m) != 1 {
		return action{}, fmt.Errorf("malformed action/metadata line: expected one action, got %d", len(m))
	}
	var a action
	var meta map[string]any
	for a.op, meta = range m {
	}
	switch a.op {
	case "create", "index", "update", "delete":
	default:
		return action{}, fmt.Errorf("malformed action/metadata line: unknown action %q", a.op)
	}
	for k, v := range meta {
		str, _ := v.(string)
		switch k {
		case "_index":
			a.index = str
		case "_id":
			a.id = str
		case "pipeline", "require_alias", "require_data_stream", "dynamic_templates", "routing", "if_seq_no", "if_primary_term", "version", "version_type", "retry_on_conflict", "list_executed_pipelines":
		default:
			return action{}, fmt.Errorf("action [%s] does not support [%s]", a.op, k)
		}
	}
	if a.index == "" {
		a.index = urlIndex
	}
	if a.index == "" {
		return action{}, errors.New("an index is required (in the action or the URL)")
	}
	if err := validIndexName(a.index); err != nil {
		return action{}, err
	}
	return a, nil
}

func validIndexName(name string) error {
	if name != strings.ToLower(name) {
		return fmt.Errorf("invalid index name [%s], must be lowercase", name)
	}
	if strings.ContainsAny(name, `\/*?"<>| ,#:`) || strings.HasPrefix(name, "_") || strings.HasPrefix(name, "-") || strings.HasPrefix(name, "+") {
		return fmt.Errorf("invalid index name [%s]", name)
	}
	if len(name) > 255 {
		return fmt.Errorf("invalid index name [%s], too long", name)
	}
	return nil
}

// dataStream returns the parts of a logs-*-* / metrics-*-* data stream name.
func dataStream(index string) (typ, dataset, namespace string, ok bool) {
	parts := strings.Split(index, "-")
	if len(parts) < 3 || (parts[0] != "logs" && parts[0] != "metrics") {
		return "", "", "", false
	}
	return parts[0], strings.Join(parts[1:len(parts)-1], "-"), parts[len(parts)-1], true
}

// apply stores one document; s.mu is held.
func (s *Server) apply(a action, src map[string]any) (status int, result, errType, reason string) {
	typ, dataset, ns, isDS := dataStream(a.index)
	if isDS {
		if a.op != "create" {
			return 400, "", "illegal_argument_exception", fmt.Sprintf("only write ops with an op_type of create are allowed in data streams, got %s", a.op)
		}
		if _, ok := src["@timestamp"].(string); !ok {
			return 400, "", "document_parsing_exception", "data stream timestamp field [@timestamp] is missing"
		}
		if ds, ok := src["data_stream"].(map[string]any); ok {
			for k, want := range map[string]string{"type": typ, "dataset": dataset, "namespace": ns} {
				if got, present := ds[k]; present && got != want {
					return 400, "", "document_parsing_exception", fmt.Sprintf("[data_stream.%s] of %q is %v, the stream's name says %q", k, a.index, got, want)
				}
			}
		}
	}
	backing, fields := s.backingIndex(a.index, isDS)
	byID := s.docs[backing]
	if byID == nil {
		byID = map[string]Doc{}
		s.docs[backing] = byID
	}
	if a.id == "" {
		a.id = fmt.Sprintf("auto-%d", len(s.order)+1)
	}
	switch a.op {
	case "delete":
		if _, ok := byID[a.id]; !ok {
			return 404, "not_found", "", ""
		}
		delete(byID, a.id)
		s.order = slices.DeleteFunc(s.order, func(d Doc) bool { return d.Backing == backing && d.ID == a.id })
		return 200, "deleted", "", ""
	case "create":
		if _, ok := byID[a.id]; ok {
			s.conflicts++
			return 409, "", "version_conflict_engine_exception", fmt.Sprintf("[%s]: version conflict, document already exists", a.id)
		}
	case "update":
		return 400, "", "illegal_argument_exception", "update is not part of this peer's contract"
	}
	if c := fields.index(src); c != nil {
		s.refused[c.path]++
		return 400, "", "document_parsing_exception", fmt.Sprintf("%s in document with id '%s'", c, a.id)
	}
	doc := Doc{Index: a.index, Backing: backing, ID: a.id, Source: src}
	_, existed := byID[a.id]
	byID[a.id] = doc
	if existed {
		for i := range s.order {
			if s.order[i].Backing == backing && s.order[i].ID == a.id {
				s.order[i] = doc
			}
		}
		return 200, "updated", "", ""
	}
	s.order = append(s.order, doc)
	return 201, "created", "", ""
}

// search answers term and match_all queries over the indices a pattern
// names: what `policyaudit verify --correlation-id` and the tests ask.
func (s *Server) search(w http.ResponseWriter, r *http.Request, pattern string) {
	body, err := readBody(r)
	if err != nil {
		s.violation(w, "_search: %v", err)
		return
	}
	var req struct {
		Size  *int                      `json:"size"`
		Query map[string]map[string]any `json:"query"`
	}
	if len(bytes.TrimSpace(body)) > 0 {
		if err := json.Unmarshal(body, &req); err != nil {
			s.violation(w, "_search: malformed body: %v", err)
			return
		}
	}
	match, err := parseQuery(req.Query)
	if err != nil {
		s.violation(w, "_search: %v", err)
		return
	}
	size := 10
	if req.Size != nil {
		size = *req.Size
	}
	s.mu.Lock()
	var hits []any
	total := 0
	for _, d := range s.order {
		if !matchesPattern(pattern, d.Index) || !match(d.Source) {
			continue
		}
		total++
		if len(hits) < size {
			// A hit names the backing index holding it, not the data
			// stream, as the real node answers.
			hits = append(hits, map[string]any{"_index": d.Backing, "_id": d.ID, "_source": d.Source})
		}
	}
	s.mu.Unlock()
	_ = json.NewEncoder(w).Encode(map[string]any{
		"took": 1, "timed_out": false,
		"hits": map[string]any{"total": map[string]any{"value": total, "relation": "eq"}, "hits": hits},
	})
}

// deleteByQuery removes the documents a query matches in the indices a
// pattern names (data streams included, as on a node) and answers the count
// as Elasticsearch does: what `policyaudit subject erase` asks.
func (s *Server) deleteByQuery(w http.ResponseWriter, r *http.Request, pattern string) {
	body, err := readBody(r)
	if err != nil {
		s.violation(w, "_delete_by_query: %v", err)
		return
	}
	var req struct {
		Query map[string]map[string]any `json:"query"`
	}
	if err := json.Unmarshal(body, &req); err != nil || req.Query == nil {
		s.violation(w, "_delete_by_query: a body with a query is required (%v)", err)
		return
	}
	match, err := parseQuery(req.Query)
	if err != nil {
		s.violation(w, "_delete_by_query: %v", err)
		return
	}
	s.mu.Lock()
	kept := s.order[:0]
	deleted := 0
	for _, d := range s.order {
		if matchesPattern(pattern, d.Index) && match(d.Source) {
			delete(s.docs[d.Backing], d.ID)
			deleted++
			continue
		}
		kept = append(kept, d)
	}
	s.order = kept
	s.mu.Unlock()
	_ = json.NewEncoder(w).Encode(map[string]any{
		"took": 1, "timed_out": false, "total": deleted, "deleted": deleted, "batches": 1,
		"version_conflicts": 0, "noops": 0, "failures": []any{},
	})
}

// parseQuery reads match_all, term, match_phrase and a bool of should
// clauses. The peer maps every string as keyword, so a phrase is the exact
// value, as on a keyword field; it has no text fields (Elasticsearch's
// dynamic mapping makes strings text with a keyword sub-field: the real
// node's tests, test/e2e/elasticsearch_test.go, show what that changes).
func parseQuery(query map[string]map[string]any) (func(map[string]any) bool, error) {
	match := func(map[string]any) bool { return true }
	for kind, q := range query {
		switch kind {
		case "match_all":
		case "term", "match_phrase":
			if len(q) != 1 {
				return nil, fmt.Errorf("[%s] query takes one field, got %d", kind, len(q))
			}
			for field, v := range q {
				want := v
				if obj, ok := v.(map[string]any); ok {
					want = obj["value"]
					if kind == "match_phrase" {
						want = obj["query"]
					}
				}
				match = func(src map[string]any) bool {
					got := lookup(src, field)
					return got != nil && fmt.Sprint(got) == fmt.Sprint(want)
				}
			}
		case "bool":
			var clauses []func(map[string]any) bool
			for k, v := range q {
				switch k {
				case "should":
					list, _ := v.([]any)
					for _, c := range list {
						raw, _ := json.Marshal(c)
						var sub map[string]map[string]any
						if err := json.Unmarshal(raw, &sub); err != nil {
							return nil, fmt.Errorf("[bool] should clause: %v", err)
						}
						m, err := parseQuery(sub)
						if err != nil {
							return nil, err
						}
						clauses = append(clauses, m)
					}
				case "minimum_should_match":
					if fmt.Sprint(v) != "1" {
						return nil, fmt.Errorf("[bool] minimum_should_match %v is not part of this peer's contract", v)
					}
				default:
					return nil, fmt.Errorf("[bool] %s is not part of this peer's contract", k)
				}
			}
			match = func(src map[string]any) bool {
				for _, c := range clauses {
					if c(src) {
						return true
					}
				}
				return false
			}
		default:
			return nil, fmt.Errorf("query [%s] is not part of this peer's contract", kind)
		}
	}
	return match, nil
}

func matchesPattern(pattern, index string) bool {
	if pattern == "" || pattern == "_all" {
		return true
	}
	for _, p := range strings.Split(pattern, ",") {
		if ok, _ := path.Match(p, index); ok {
			return true
		}
	}
	return false
}

// lookup reads a dotted field from a document, as a term query names it.
func lookup(src map[string]any, field string) any {
	if v, ok := src[field]; ok {
		return v
	}
	head, rest, found := strings.Cut(field, ".")
	if !found {
		return nil
	}
	if sub, ok := src[head].(map[string]any); ok {
		return lookup(sub, rest)
	}
	return nil
}
