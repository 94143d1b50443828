// Package faultproxy holds the test proxies the network drivers share: a
// reverse proxy in front of a real server (MinIO, Azurite) that breaks
// responses on demand, and the scenarios that use it.
package faultproxy

import (
	"bytes"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// Cut forwards to the real server and cuts the body of the next GET of one
// key after a number of bytes: the client sees the connection close before
// Content-Length bytes arrived. It records every GET of that key.
//
// With IgnoreRange it also plays a server that ignores Range headers: it
// answers a ranged GET of the key, which the server answered with 206, with
// the last whole-object response (200) the server sent for the key instead.
// The request still reaches the server, so that its signature and
// conditions are checked there.
type Cut struct {
	srv *httptest.Server

	mu          sync.Mutex
	suffix      string // the key's path ends so
	cutAfter    int    // > 0: cut the next GET's body after this many bytes
	onCut       func() // runs once the cut bytes are sent, before the connection drops
	gets        []http.Header
	ignoreRange bool
	whole       *http.Response // the last 200 of a GET of the key, its body read into wholeBody
	wholeBody   []byte
	replaced    int // 206s answered with whole instead
}

// NewCut starts a Cut in front of endpoint. With rewriteHost the Host
// header becomes the server's (Azure's shared key signs the path, not the
// host); without, it stays the proxy's (SigV4 signs the host the SDK
// sent to). The proxy stops when t ends.
func NewCut(t testing.TB, endpoint string, rewriteHost bool) *Cut {
	t.Helper()
	target, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	p := &Cut{}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.Out.URL.Scheme, r.Out.URL.Host = target.Scheme, target.Host
			if rewriteHost {
				r.Out.Host = target.Host
			}
		},
		ModifyResponse: p.modify,
		ErrorLog:       log.New(io.Discard, "", 0),
	}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		mine := r.Method == http.MethodGet && p.suffix != "" && strings.HasSuffix(r.URL.Path, p.suffix)
		cut, onCut := 0, p.onCut
		if mine {
			p.gets = append(p.gets, r.Header.Clone())
			cut, p.cutAfter = p.cutAfter, 0
		}
		p.mu.Unlock()
		if cut > 0 {
			w = &cutWriter{ResponseWriter: w, left: cut, onCut: onCut}
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

// URL is the proxy's base URL, with the path of the endpoint it fronts
// left to the caller.
func (p *Cut) URL() string { return p.srv.URL }

// Arm makes the proxy cut the next GET of key after n bytes, calling
// onCut (if not nil) just before the connection drops.
func (p *Cut) Arm(key string, n int, onCut func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.suffix, p.cutAfter, p.onCut, p.gets = "/"+key, n, onCut, nil
	p.whole, p.wholeBody, p.replaced = nil, nil, 0
}

// IgnoreRange turns on or off the answering of ranged GETs of the armed key
// with the whole object (see Cut). It takes effect once the proxy has seen
// a whole-object response for the key, to a GET without a Range header.
func (p *Cut) IgnoreRange(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ignoreRange = on
}

// Replaced is how many ranged GETs of the armed key got the whole object
// since Arm.
func (p *Cut) Replaced() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.replaced
}

// modify records the whole-object responses to GETs of the armed key, and
// with IgnoreRange answers the ranged ones with the last of those.
func (p *Cut) modify(resp *http.Response) error {
	req := resp.Request
	if req.Method != http.MethodGet {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.suffix == "" || !strings.HasSuffix(req.URL.Path, p.suffix) {
		return nil
	}
	switch {
	case resp.StatusCode == http.StatusOK:
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		p.whole, p.wholeBody = resp, body
	case resp.StatusCode == http.StatusPartialContent && p.ignoreRange && p.whole != nil:
		resp.Body.Close()
		resp.StatusCode, resp.Status = http.StatusOK, p.whole.Status
		resp.Header = p.whole.Header.Clone()
		resp.ContentLength = int64(len(p.wholeBody))
		resp.Body = io.NopCloser(bytes.NewReader(p.wholeBody))
		p.replaced++
	}
	return nil
}

// Gets returns the headers of every GET of the armed key since Arm.
func (p *Cut) Gets() []http.Header {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.gets
}

// cutWriter passes left bytes through, flushes them, and fails the next
// write, which makes the ReverseProxy abort the connection.
type cutWriter struct {
	http.ResponseWriter
	left  int
	onCut func()
}

func (c *cutWriter) Write(b []byte) (int, error) {
	if len(b) <= c.left {
		n, err := c.ResponseWriter.Write(b)
		c.left -= n
		return n, err
	}
	n, _ := c.ResponseWriter.Write(b[:c.left])
	c.left = 0
	c.ResponseWriter.(http.Flusher).Flush()
	if c.onCut != nil {
		c.onCut()
	}
	return n, errors.New("cut by the test proxy")
}

func (c *cutWriter) Flush() { c.ResponseWriter.(http.Flusher).Flush() }
