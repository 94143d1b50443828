package faultproxy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Kind is a fault the Faults proxy injects.
type Kind int

const (
	// Pass forwards the request unchanged; the proxy only records it.
	Pass Kind = iota
	// Status answers Fault.Status with the backend's own kind of error
	// (an S3 or Azure XML error body and headers) without forwarding. The
	// request body is read in full first, as a server that refuses after
	// receiving would.
	Status
	// Reset resets the connection before any response: nothing of the
	// request body is read.
	Reset
	// ResetUpload reads Fault.After bytes of the request body (half of
	// its Content-Length when zero), then resets the connection.
	ResetUpload
	// ResetDownload forwards the request and passes on the response's
	// headers and Fault.After bytes of its body (when zero, half of its
	// Content-Length, or 100 bytes of a body of unknown size), then
	// closes the connection.
	ResetDownload
	// Stall reads the request and its body, then sends nothing until
	// released (see Release), the client goes away, or a minute passes;
	// then it resets the connection.
	Stall
	// StallDownload forwards the request and passes on the response's
	// headers and Fault.After bytes of its body (as for ResetDownload), then
	// sends nothing more until released, the client goes away, or a
	// minute passes; then it closes the connection.
	StallDownload
	// Drop forwards the request, waits for the server's whole response,
	// and resets the connection without passing on any of it: the server
	// did what the request asked, and the client never learns it (a
	// commit whose answer is lost).
	Drop
	// SlowDownload forwards the request and passes on the response's body
	// at Fault.Rate bytes a second: a link that limits each connection,
	// as a long path across a network does and loopback never does.
	SlowDownload
)

var kindNames = [...]string{"pass", "status", "reset", "reset-upload", "reset-download", "stall", "stall-download", "drop", "slow-download"}

func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// maxStall bounds a stall nobody releases, so that a broken test cannot
// hang the proxy forever.
const maxStall = time.Minute

// Fault is one armed fault: what to do, and to which requests.
type Fault struct {
	Kind Kind
	// Status is the response code of a Status fault: 503, 500, 429, 400…
	Status int
	// RetryAfter, with a Status fault, is sent in RetryAfterHeader:
	// "Retry-After" (the default) in whole seconds, rounded up, or
	// "x-ms-retry-after-ms" or "retry-after-ms" in milliseconds.
	RetryAfter       time.Duration
	RetryAfterHeader string
	// After is the number of body bytes that pass before a ResetUpload,
	// ResetDownload or StallDownload; zero means half of the body.
	After int64
	// Rate is the bytes a second of a SlowDownload's body.
	Rate int64

	// The requests it applies to: each set field must match. Method is
	// the HTTP method; PathSuffix the end of the URL path (such as
	// "/"+key); Query a query parameter the request carries, as "name"
	// or "name=value".
	Method     string
	PathSuffix string
	Query      string
	// Times is how many matching requests get the fault; a negative value
	// means every one until Disarm.
	Times int

	// OnFault, if set, runs on the proxy's goroutine as the fault is
	// injected: before a stall starts waiting, after the bytes that pass
	// have been flushed, after the server answered a Drop. It must not
	// block, except on a Reset or a Drop: the client waits for its
	// connection's end until it returns, so it may write to the server in
	// between, as another client would.
	OnFault func(Request)
}

// matches reports whether r is one of the requests f applies to.
func (f *Fault) matches(r *http.Request) bool {
	if f.Method != "" && r.Method != f.Method {
		return false
	}
	if f.PathSuffix != "" && !strings.HasSuffix(r.URL.Path, f.PathSuffix) {
		return false
	}
	if f.Query != "" {
		q := r.URL.Query()
		name, value, hasValue := strings.Cut(f.Query, "=")
		if !q.Has(name) || hasValue && q.Get(name) != value {
			return false
		}
	}
	return true
}

// Request is what the proxy saw of one request, and what it did.
type Request struct {
	Seq      int // from 0, in order of arrival
	Method   string
	Path     string
	RawQuery string
	Header   http.Header
	Start    time.Time   // when the request's headers arrived
	End      time.Time   // when the proxy was done: the response sent, the connection cut, or the stall over
	Fault    Kind        // Pass when forwarded unchanged
	Status   int         // the status sent to the client; 0 when none was
	Response http.Header // the response headers sent to the client; nil when none were
	Dropped  int         // the status of the server's answer to a Drop, which the client never saw
}

// Faults is a reverse proxy in front of a real server (MinIO, Azurite)
// that injects faults into the requests that match an armed Fault and
// forwards the others unchanged. It records every request it sees.
type Faults struct {
	srv *httptest.Server
	rp  *httputil.ReverseProxy

	mu      sync.Mutex
	armed   []*Fault
	reqs    []Request
	release chan struct{} // closed by Release
}

// NewFaults starts a Faults proxy in front of endpoint. With rewriteHost
// the Host header becomes the server's (Azure's shared key signs the
// path, not the host); without, it stays the proxy's (SigV4 signs the
// host the SDK sent to). A Copy Blob (x-ms-copy-source) keeps the proxy's
// either way: its source URL names the proxy, and Azurite serves a copy
// only from a source on the host the request was sent to. Stalled
// requests are released and the proxy stops when t ends.
func NewFaults(t testing.TB, endpoint string, rewriteHost bool) *Faults {
	t.Helper()
	target, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 16}
	p := &Faults{release: make(chan struct{})}
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.Out.URL.Scheme, r.Out.URL.Host = target.Scheme, target.Host
			if rewriteHost && r.In.Header.Get("X-Ms-Copy-Source") == "" {
				r.Out.Host = target.Host
			}
		},
		Transport: tr,
		ErrorLog:  log.New(io.Discard, "", 0),
	}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(func() {
		p.Release()
		p.srv.Close()
		tr.CloseIdleConnections()
	})
	return p
}

// NewFaultsFor starts a Faults proxy in front of the endpoint of the S3
// store URL raw (its endpoint= parameter; the Host header stays the
// proxy's, which SigV4 signed) and returns it with raw pointed at it.
func NewFaultsFor(t testing.TB, raw string) (*Faults, string) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if q.Get("endpoint") == "" {
		t.Fatalf("%s has no endpoint= for the proxy to forward to", raw)
	}
	p := NewFaults(t, q.Get("endpoint"), false)
	q.Set("endpoint", p.URL())
	u.RawQuery = q.Encode()
	return p, u.String()
}

// URL is the proxy's base URL, with the path of the endpoint it fronts
// left to the caller.
func (p *Faults) URL() string { return p.srv.URL }

// Arm adds f to the armed faults. A request gets the first armed fault it
// matches that has Times left.
func (p *Faults) Arm(f Fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.armed = append(p.armed, &f)
}

// Disarm removes every armed fault. Requests in a stall stay there until
// Release.
func (p *Faults) Disarm() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.armed = nil
}

// Release ends every stall in progress. Later stalls wait for the next
// Release.
func (p *Faults) Release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	close(p.release)
	p.release = make(chan struct{})
}

// Requests returns what the proxy saw since it started or since Forget,
// in order of arrival. A request still in progress has a zero End.
func (p *Faults) Requests() []Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]Request, len(p.reqs))
	copy(out, p.reqs)
	return out
}

// Matching returns the recorded requests that f's filter (Method,
// PathSuffix, Query) matches, whether or not they got the fault.
func (p *Faults) Matching(f Fault) []Request {
	var out []Request
	for _, r := range p.Requests() {
		u := &url.URL{Path: r.Path, RawQuery: r.RawQuery}
		if f.matches(&http.Request{Method: r.Method, URL: u}) {
			out = append(out, r)
		}
	}
	return out
}

// Forget drops the recorded requests.
func (p *Faults) Forget() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.reqs = nil
}

func (p *Faults) serve(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	var f Fault
	for _, a := range p.armed {
		if a.Times != 0 && a.matches(r) {
			f = *a
			if a.Times > 0 {
				a.Times--
			}
			break
		}
	}
	seq := len(p.reqs)
	rec := Request{Seq: seq, Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery,
		Header: r.Header.Clone(), Start: time.Now(), Fault: f.Kind}
	p.reqs = append(p.reqs, rec)
	release := p.release
	p.mu.Unlock()

	sw := &statusWriter{ResponseWriter: w}
	var dropped dropWriter
	defer func() {
		p.mu.Lock()
		if seq < len(p.reqs) && p.reqs[seq].Start.Equal(rec.Start) {
			p.reqs[seq].End = time.Now()
			p.reqs[seq].Status = sw.status
			p.reqs[seq].Response = sw.header
			p.reqs[seq].Dropped = dropped.status
		}
		p.mu.Unlock()
	}()
	onFault := func() {
		if f.OnFault != nil {
			f.OnFault(rec)
		}
	}
	stall := func() {
		select {
		case <-release:
		case <-r.Context().Done():
		case <-time.After(maxStall):
		}
	}

	switch f.Kind {
	case Pass:
		p.rp.ServeHTTP(sw, r)
	case Status:
		io.Copy(io.Discard, r.Body)
		onFault()
		writeError(sw, r, f)
	case Reset:
		onFault()
		reset(sw)
	case ResetUpload:
		n := f.After
		if n <= 0 {
			n = max(r.ContentLength/2, 1)
		}
		io.CopyN(io.Discard, r.Body, n)
		onFault()
		reset(sw)
	case Stall:
		io.Copy(io.Discard, r.Body)
		onFault()
		stall()
		reset(sw)
	case Drop:
		p.rp.ServeHTTP(&dropped, r)
		// Recorded before the reset, so that the client, once it sees the
		// reset, sees the server's answer in Requests.
		rec.Dropped = dropped.status
		p.mu.Lock()
		if seq < len(p.reqs) && p.reqs[seq].Start.Equal(rec.Start) {
			p.reqs[seq].Dropped = dropped.status
		}
		p.mu.Unlock()
		onFault()
		reset(sw)
	case SlowDownload:
		onFault()
		p.rp.ServeHTTP(&slowBody{statusWriter: sw, rate: f.Rate, ctx: r.Context()}, r)
	case ResetDownload, StallDownload:
		p.rp.ServeHTTP(&cutBody{statusWriter: sw, after: f.After, onCut: func() {
			onFault()
			if f.Kind == StallDownload {
				stall()
			}
		}}, r)
	}
}

// reset hijacks the connection of w and closes it with a TCP reset.
func reset(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	conn.Close()
}

// statusWriter remembers the status and headers sent.
type statusWriter struct {
	http.ResponseWriter
	status int
	header http.Header
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status, s.header = code, s.Header().Clone()
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.WriteHeader(http.StatusOK)
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusWriter) Flush() { http.NewResponseController(s.ResponseWriter).Flush() }

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// dropWriter takes a response and sends none of it, remembering its
// status.
type dropWriter struct {
	header http.Header
	status int
}

func (d *dropWriter) Header() http.Header {
	if d.header == nil {
		d.header = http.Header{}
	}
	return d.header
}

func (d *dropWriter) WriteHeader(code int) {
	if d.status == 0 && code >= 200 { // not an interim 1xx
		d.status = code
	}
}

func (d *dropWriter) Write(b []byte) (int, error) {
	d.WriteHeader(http.StatusOK)
	return len(b), nil
}

func (d *dropWriter) Flush() {}

// cutBody passes after bytes of the response body (half of its
// Content-Length when after is zero), flushes them, runs onCut, and fails
// the next write, which makes the ReverseProxy abort the connection.
type cutBody struct {
	*statusWriter
	after int64
	onCut func()
	done  bool
}

func (c *cutBody) WriteHeader(code int) {
	if c.after <= 0 {
		c.after = 100 // a body of unknown size
		if n, err := strconv.ParseInt(c.Header().Get("Content-Length"), 10, 64); err == nil {
			c.after = max(n/2, 1)
		}
	}
	c.statusWriter.WriteHeader(code)
}

func (c *cutBody) Write(b []byte) (int, error) {
	if c.done {
		return 0, errCut
	}
	if c.status == 0 {
		c.WriteHeader(http.StatusOK)
	}
	if int64(len(b)) < c.after {
		n, err := c.statusWriter.Write(b)
		c.after -= int64(n)
		return n, err
	}
	n, _ := c.statusWriter.Write(b[:c.after])
	c.after, c.done = 0, true
	c.Flush()
	c.onCut()
	return n, errCut
}

var errCut = errors.New("cut by the test proxy")

// slowBody passes a response body on at rate bytes a second, flushing
// every slice it writes.
type slowBody struct {
	*statusWriter
	rate  int64
	ctx   context.Context
	start time.Time
	sent  int64
}

// slowSlice is the most slowBody writes at once.
const slowSlice = 16 << 10

func (s *slowBody) Write(b []byte) (int, error) {
	if s.start.IsZero() {
		s.start = time.Now()
	}
	written := 0
	for len(b) > 0 {
		n := min(len(b), slowSlice)
		m, err := s.statusWriter.Write(b[:n])
		written += m
		s.sent += int64(m)
		if err != nil {
			return written, err
		}
		s.Flush()
		b = b[n:]
		// Pace to the rate: the bytes sent so far are due no sooner
		// than sent/rate after the start.
		due := s.start.Add(time.Duration(float64(s.sent) / float64(s.rate) * float64(time.Second)))
		select {
		case <-time.After(time.Until(due)):
		case <-s.ctx.Done():
			return written, s.ctx.Err()
		}
	}
	return written, nil
}

// writeError answers f.Status the way the backend of r would: Azure when
// the request carries x-ms-version, S3 otherwise.
func writeError(w http.ResponseWriter, r *http.Request, f Fault) {
	var b [8]byte
	rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	azure := r.Header.Get("X-Ms-Version") != ""
	code, msg := errorCode(azure, f.Status)
	h := w.Header()
	var body string
	if azure {
		h.Set("x-ms-error-code", code)
		h.Set("x-ms-request-id", id)
		h.Set("x-ms-version", r.Header.Get("X-Ms-Version"))
		if c := r.Header.Get("X-Ms-Client-Request-Id"); c != "" {
			h.Set("x-ms-client-request-id", c)
		}
		body = fmt.Sprintf(`<?xml version="1.0" encoding="utf-8"?><Error><Code>%s</Code><Message>%s
RequestId:%s
Time:%s</Message></Error>`, code, msg, id, time.Now().UTC().Format("2006-01-02T15:04:05.0000000Z"))
	} else {
		h.Set("x-amz-request-id", id)
		body = fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>%s</Code><Message>%s</Message><Resource>%s</Resource><RequestId>%s</RequestId></Error>`,
			code, msg, r.URL.Path, id)
	}
	if f.RetryAfter > 0 {
		switch name := f.RetryAfterHeader; strings.ToLower(name) {
		case "", "retry-after":
			h.Set("Retry-After", strconv.FormatInt(int64((f.RetryAfter+time.Second-1)/time.Second), 10))
		default:
			h.Set(name, strconv.FormatInt(f.RetryAfter.Milliseconds(), 10))
		}
	}
	h.Set("Content-Type", "application/xml")
	if r.Method == http.MethodHead {
		w.WriteHeader(f.Status)
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(f.Status)
	io.WriteString(w, body)
}

// errorCode is the error code and message a backend sends with status.
func errorCode(azure bool, status int) (code, msg string) {
	switch {
	case status == http.StatusServiceUnavailable && azure:
		return "ServerBusy", "The server is busy."
	case status == http.StatusServiceUnavailable:
		return "SlowDown", "Please reduce your request rate."
	case status == http.StatusInternalServerError && azure:
		return "InternalError", "The server encountered an internal error. Please retry the request."
	case status == http.StatusInternalServerError:
		return "InternalError", "We encountered an internal error. Please try again."
	case status == http.StatusTooManyRequests:
		return "TooManyRequests", "Please reduce your request rate."
	case status == http.StatusBadRequest && azure:
		return "InvalidInput", "One of the request inputs is not valid."
	case status == http.StatusBadRequest:
		return "InvalidRequest", "The request is not valid."
	}
	return strings.ReplaceAll(http.StatusText(status), " ", ""), http.StatusText(status) + "."
}
