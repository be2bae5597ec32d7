// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

// Package s3sse is a contract peer for S3 server-side encryption, in front
// of a real S3 implementation that does not keep it (versitygw accepts the
// x-amz-server-side-encryption headers of a PUT and forgets them). It
// records the encryption each object was written with and answers it on
// GET and HEAD, as S3 documents (the response carries
// x-amz-server-side-encryption and, for SSE-KMS, the key ID); everything
// else (Object Lock included) is the real implementation's. What this
// checks, and what only a real S3 would: the README's "Archive controls".
package s3sse // import "github.com/policyaudit/policyaudit/test/peers/s3sse"

import (
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
)

// The S3 headers of server-side encryption.
const (
	HeaderSSE      = "X-Amz-Server-Side-Encryption"
	HeaderSSEKeyID = "X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id"
)

// Proxy is the peer: URL is its endpoint.
type Proxy struct {
	URL    string
	server *httptest.Server

	mu        sync.Mutex
	encrypted map[string][2]string // object path -> algorithm, KMS key ID
}

// Start proxies to the S3 endpoint upstream (the request's Host header is
// passed on as the client signed it).
func Start(upstream string) (*Proxy, error) {
	u, err := url.Parse(upstream)
	if err != nil {
		return nil, err
	}
	p := &Proxy{encrypted: map[string][2]string{}}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ModifyResponse = func(resp *http.Response) error {
		r := resp.Request
		path := r.URL.Path
		switch {
		case r.Method == http.MethodPut && resp.StatusCode == http.StatusOK && onObject(r):
			p.mu.Lock()
			if alg := r.Header.Get(HeaderSSE); alg != "" {
				p.encrypted[path] = [2]string{alg, r.Header.Get(HeaderSSEKeyID)}
			} else {
				delete(p.encrypted, path) // written again without encryption
			}
			p.mu.Unlock()
			resp.Header.Set(HeaderSSE, r.Header.Get(HeaderSSE))
		case (r.Method == http.MethodGet || r.Method == http.MethodHead) && resp.StatusCode/100 == 2 && onObject(r):
			p.mu.Lock()
			e, ok := p.encrypted[path]
			p.mu.Unlock()
			if ok {
				resp.Header.Set(HeaderSSE, e[0])
				if e[1] != "" {
					resp.Header.Set(HeaderSSEKeyID, e[1])
				}
			}
		}
		return nil
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p.server = &httptest.Server{Listener: ln, Config: &http.Server{Handler: rp}}
	p.server.Start()
	p.URL = p.server.URL
	return p, nil
}

// onObject: the request reads or writes an object itself, not one of its
// sub-resources (?retention, ?legal-hold, ?tagging, ...); the AWS SDK adds
// x-id=PutObject and the like to every request.
func onObject(r *http.Request) bool {
	for k := range r.URL.Query() {
		if k != "x-id" {
			return false
		}
	}
	return true
}

// Encryption is what an object (/bucket/key) was written with.
func (p *Proxy) Encryption(path string) (algorithm, kmsKeyID string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e := p.encrypted[path]
	return e[0], e[1]
}

// Objects are the paths written with encryption.
func (p *Proxy) Objects() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]string, 0, len(p.encrypted))
	for k := range p.encrypted {
		out = append(out, k)
	}
	return out
}

// Decrypt stands for an object stored unencrypted since (rewritten by
// someone with the bucket's credentials, beside the exporter).
func (p *Proxy) Decrypt(path string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.encrypted, path)
}

// Close stops the peer.
func (p *Proxy) Close() { p.server.Close() }
