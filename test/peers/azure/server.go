// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

// Package azure is a test peer for the azure_logs_ingestion exporter: an
// HTTPS server playing both Microsoft Entra ID (the token endpoint of the
// client credentials flow, and the OpenID configuration MSAL reads first)
// and the Azure Monitor Logs Ingestion API of one data collection rule, as
// Microsoft documents them. There is no Azure here; this holds the
// documented contract, and the tests say so.
//
// What it checks:
//   - token requests: grant_type client_credentials, the client ID and
//     secret it was given, the scope https://monitor.azure.com//.default
//     among the scopes (MSAL adds openid, offline_access and profile), 401
//     invalid_client / 400 invalid_scope otherwise;
//   - ingestion calls: POST /dataCollectionRules/{rule}/streams/{stream}
//     with api-version=2023-01-01, a bearer token it issued (401), the rule
//     ID (404), a stream the DCR declares (404), Content-Type
//     application/json, Content-Encoding gzip or none; at most 1 MB
//     (1,048,576 bytes) as sent and decompressed (413); a JSON array of
//     objects whose every key is a column the stream declares, each value of
//     the declared type (string, boolean, datetime as ISO 8601, dynamic any)
//     (400 with the service's error shape); 204 on success.
//   - it can throttle (429 with Retry-After, from the first call or part way
//     through a batch), be down (503), or refuse the identity (403).
package azure // import "github.com/policyaudit/policyaudit/test/peers/azure"
import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/policyaudit/policyaudit/test/peers/internal/peer"
)

// MaxCallBytes is the API's limit, counted as sent and decompressed.
const MaxCallBytes = 1 << 20

// Column is a declared column.
type Column struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// Server is the peer. Create it with Start.
type Server struct {
	peer.Base        // URL: https://127.0.0.1:port, the authority host and the endpoint; SetDown: 503
	CAFile    string // the server's certificate, for the client's tls.ca_file
	Tenant    string
	ClientID  string
	Secret    string
	RuleID    string

	streams map[string][]Column

	forbidden atomic.Bool
	tokens    sync.Map // issued access tokens

	mu         sync.Mutex
	rows       map[string][]map[string]any // by stream
	calls      int
	throttled  int
	passFirst  int // calls to let through before throttling
	toThrottle int // calls still to answer 429
}

// Start serves a DCR declaring streams, with a certificate written to dir.
func Start(dir string, streams map[string][]Column) (*Server, error) {
	s := &Server{
		Tenant: "11111111-2222-3333-4444-555555555555", ClientID: "66666666-7777-8888-9999-000000000000",
		Secret: randomHex(16), RuleID: "dcr-" + randomHex(16), streams: streams, rows: map[string][]map[string]any{},
	}
	s.ServeTLS(s.serve)
	s.CAFile = filepath.Join(dir, "azure-peer-ca.pem")
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate()})
	if err := os.WriteFile(s.CAFile, cert, 0o600); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Throttle answers the next n ingestion calls with 429 and Retry-After: 1.
func (s *Server) Throttle(n int) { s.ThrottleAfter(0, n) }

// ThrottleAfter lets the next pass calls through, then answers n with 429
// and Retry-After: 1: a batch throttled part way.
func (s *Server) ThrottleAfter(pass, n int) {
	s.mu.Lock()
	s.passFirst, s.toThrottle = pass, n
	s.mu.Unlock()
}

// SetForbidden answers every ingestion call 403, as the service does for
// an identity without Monitoring Metrics Publisher on the rule, until
// called with false.
func (s *Server) SetForbidden(forbidden bool) { s.forbidden.Store(forbidden) }

// Rows returns the rows a stream holds.
func (s *Server) Rows(stream string) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]map[string]any(nil), s.rows[stream]...)
}

// Calls returns the ingestion calls accepted and those answered 429.
func (s *Server) Calls() (accepted, throttled int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls, s.throttled
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/"+s.Tenant+"/v2.0/.well-known/openid-configuration":
		s.openIDConfiguration(w)
	case r.URL.Path == "/"+s.Tenant+"/oauth2/v2.0/token" && r.Method == http.MethodPost:
		s.token(w, r)
	case strings.HasPrefix(r.URL.Path, "/dataCollectionRules/"):
		s.ingest(w, r)
	default:
		s.refuse(w, http.StatusNotFound, "NotFound", "no such path %s %s", r.Method, r.URL.Path)
	}
}

func (s *Server) openIDConfiguration(w http.ResponseWriter) {
	base := s.URL + "/" + s.Tenant
	writeJSON(w, http.StatusOK, map[string]any{
		"token_endpoint":         base + "/oauth2/v2.0/token",
		"authorization_endpoint": base + "/oauth2/v2.0/authorize",
		"issuer":                 base + "/v2.0",
		"tenant_region_scope":    "EU",
	})
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.refuseToken(w, http.StatusBadRequest, "invalid_request", "%v", err)
		return
	}
	switch {
	case r.PostForm.Get("grant_type") != "client_credentials":
		s.refuseToken(w, http.StatusBadRequest, "unsupported_grant_type", "grant_type %q", r.PostForm.Get("grant_type"))
	case r.PostForm.Get("client_id") != s.ClientID || r.PostForm.Get("client_secret") != s.Secret:
		s.refuseToken(w, http.StatusUnauthorized, "invalid_client", "AADSTS7000215: Invalid client secret provided.")
	case !slices.Contains(strings.Fields(r.PostForm.Get("scope")), "https://monitor.azure.com//.default"):
		s.refuseToken(w, http.StatusBadRequest, "invalid_scope", "scope %q", r.PostForm.Get("scope"))
	default:
		token := randomHex(24)
		s.tokens.Store(token, true)
		writeJSON(w, http.StatusOK, map[string]any{"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": token})
	}
}

func (s *Server) refuseToken(w http.ResponseWriter, status int, code, format string, args ...any) {
	msg := s.Violation(format, args...)
	writeJSON(w, status, map[string]any{"error": code, "error_description": msg})
}

func (s *Server) ingest(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/dataCollectionRules/"), "/")
	if r.Method != http.MethodPost || len(parts) != 3 || parts[1] != "streams" {
		s.refuse(w, http.StatusNotFound, "NotFound", "no such path %s %s", r.Method, r.URL.Path)
		return
	}
	rule, stream := parts[0], parts[2]
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if _, issued := s.tokens.Load(token); !ok || !issued {
		s.refuse(w, http.StatusUnauthorized, "InvalidToken", "no bearer token this authority issued")
		return
	}
	if r.URL.Query().Get("api-version") != "2023-01-01" {
		s.refuse(w, http.StatusBadRequest, "InvalidApiVersion", "api-version %q", r.URL.Query().Get("api-version"))
		return
	}
	if rule != s.RuleID {
		s.refuse(w, http.StatusNotFound, "InvalidDataCollectionRule", "rule %q", rule)
		return
	}
	cols, ok := s.streams[stream]
	if !ok {
		s.refuse(w, http.StatusNotFound, "InvalidStream", "stream %q is not declared by the rule", stream)
		return
	}
	if s.Down() {
		http.Error(w, `{"error":{"code":"ServiceUnavailable","message":"The service is unavailable."}}`, http.StatusServiceUnavailable)
		return
	}
	if s.forbidden.Load() {
		writeJSON(w, http.StatusForbidden, map[string]any{"error": map[string]any{"code": "OperationFailed", "message": "The authentication token provided does not have access to ingest data for the data collection rule with immutable Id '" + rule + "'."}})
		return
	}
	if s.throttleNow() {
		w.Header().Set("Retry-After", "1")
		writeJSON(w, http.StatusTooManyRequests, map[string]any{"error": map[string]any{"code": "TooManyRequests", "message": "Rate limit exceeded."}})
		return
	}
	rows, status, code, msg := s.read(r, cols)
	if status != 0 {
		s.refuse(w, status, code, "%s", msg)
		return
	}
	s.mu.Lock()
	s.rows[stream] = append(s.rows[stream], rows...)
	s.calls++
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// throttleNow counts a call against ThrottleAfter's plan and says whether
// to answer it 429.
func (s *Server) throttleNow() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.passFirst > 0:
		s.passFirst--
	case s.toThrottle > 0:
		s.toThrottle--
		s.throttled++
		return true
	}
	return false
}

// read checks and decodes a call's body against the stream's columns.
func (s *Server) read(r *http.Request, cols []Column) (rows []map[string]any, status int, code, msg string) {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		return nil, http.StatusUnsupportedMediaType, "UnsupportedMediaType", "Content-Type " + ct
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxCallBytes+1))
	if err != nil || len(body) > MaxCallBytes {
		return nil, http.StatusRequestEntityTooLarge, "ContentLengthLimitExceeded", "more than 1 MB as sent"
	}
	switch r.Header.Get("Content-Encoding") {
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, http.StatusBadRequest, "InvalidContentEncoding", err.Error()
		}
		if body, err = io.ReadAll(io.LimitReader(zr, MaxCallBytes+1)); err != nil {
			return nil, http.StatusBadRequest, "InvalidContentEncoding", err.Error()
		}
		if len(body) > MaxCallBytes {
			return nil, http.StatusRequestEntityTooLarge, "ContentLengthLimitExceeded", "more than 1 MB decompressed"
		}
	case "":
	default:
		return nil, http.StatusBadRequest, "InvalidContentEncoding", r.Header.Get("Content-Encoding")
	}
	if err := json.Unmarshal(body, &rows); err != nil {
		return nil, http.StatusBadRequest, "InvalidPayload", "not a JSON array of objects: " + err.Error()
	}
	types := map[string]string{}
	for _, c := range cols {
		types[c.Name] = c.Type
	}
	for i, row := range rows {
		for k, v := range row {
			t, ok := types[k]
			if !ok {
				return nil, http.StatusBadRequest, "InvalidPayload", fmt.Sprintf("row %d: column %q is not declared by the stream", i, k)
			}
			if !ofType(v, t) {
				return nil, http.StatusBadRequest, "InvalidPayload", fmt.Sprintf("row %d: column %q is not a %s: %v", i, k, t, v)
			}
		}
	}
	return rows, 0, "", ""
}

func ofType(v any, t string) bool {
	switch t {
	case "string":
		_, ok := v.(string)
		return ok || v == nil
	case "boolean":
		_, ok := v.(bool)
		return ok || v == nil
	case "datetime":
		s, ok := v.(string)
		if !ok {
			return v == nil
		}
		_, err := time.Parse(time.RFC3339Nano, s)
		return err == nil
	case "dynamic":
		return true
	}
	return false
}

func (s *Server) refuse(w http.ResponseWriter, status int, code, format string, args ...any) {
	msg := s.Violation(format, args...)
	writeJSON(w, status, map[string]any{"error": map[string]any{"code": code, "message": msg}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
