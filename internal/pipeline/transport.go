package pipeline

import (
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"
)

// newBase is the transport under the pipeline: Go's, with the timeouts of
// c, and response bodies that fail once a read stalls for c.ReadTimeout.
func newBase(c Config) (*http.Transport, http.RoundTripper) {
	dialer := &net.Dialer{Timeout: c.ConnectTimeout, KeepAlive: c.KeepAlive}
	t := &http.Transport{
		DialContext:           dialer.DialContext,
		IdleConnTimeout:       c.IdleConnTimeout,
		TLSHandshakeTimeout:   c.ConnectTimeout,
		ExpectContinueTimeout: time.Second,
		MaxIdleConns:          100,
		// Go's default of 2 idle connections per host would make every
		// concurrent part upload beyond the second dial anew.
		MaxIdleConnsPerHost: 64,
		ForceAttemptHTTP2:   true,
	}
	if c.TLS != nil {
		t.TLSClientConfig = c.TLS.Clone()
	}
	if c.ReadTimeout > 0 {
		// A server that accepts a request and never answers is a stall
		// too. Server-side copies answer at once (S3 sends its 200 and
		// then whitespace; Azure's Copy Blob is asynchronous).
		t.ResponseHeaderTimeout = c.ReadTimeout
	}
	if c.Proxy != nil {
		proxy := c.Proxy
		t.Proxy = func(r *http.Request) (*url.URL, error) { return proxy(r.URL) }
	}
	return t, &idleTransport{next: t, readTimeout: c.ReadTimeout}
}

// idleTransport wraps response bodies in the per-read timeout.
type idleTransport struct {
	next        http.RoundTripper
	readTimeout time.Duration
}

func (t *idleTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err != nil || t.readTimeout <= 0 || resp.Body == nil || resp.Body == http.NoBody {
		return resp, err
	}
	resp.Body = newIdleTimeoutBody(resp.Body, t.readTimeout)
	return resp, nil
}

// ErrReadTimeout is the error a response body returns when no byte arrived
// for the transport's read timeout. It matches os.ErrDeadlineExceeded with
// errors.Is, and is a net.Error whose Timeout method reports true.
var ErrReadTimeout error = readTimeoutError{}

type readTimeoutError struct{}

func (readTimeoutError) Error() string {
	return "no data arrived on the response body within the read timeout; the connection looks stalled"
}
func (readTimeoutError) Timeout() bool        { return true }
func (readTimeoutError) Temporary() bool      { return true }
func (readTimeoutError) Is(target error) bool { return target == os.ErrDeadlineExceeded }

var _ net.Error = readTimeoutError{}

// idleTimeoutBody fails a Read that waits longer than d for data, by
// closing the underlying body, which unblocks the read. One timer serves
// every Read: it is armed when a Read starts and stopped when it returns.
type idleTimeoutBody struct {
	body io.ReadCloser
	d    time.Duration

	mu       sync.Mutex
	timer    *time.Timer
	deadline time.Time // of the Read in progress; zero when none is
	timedOut bool
	closed   bool
}

func newIdleTimeoutBody(body io.ReadCloser, d time.Duration) *idleTimeoutBody {
	return &idleTimeoutBody{body: body, d: d}
}

func (b *idleTimeoutBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	if b.timedOut {
		b.mu.Unlock()
		return 0, ErrReadTimeout
	}
	b.deadline = time.Now().Add(b.d)
	if b.timer == nil {
		b.timer = time.AfterFunc(b.d, b.expire)
	} else {
		b.timer.Reset(b.d)
	}
	b.mu.Unlock()

	n, err := b.body.Read(p)

	b.mu.Lock()
	b.deadline = time.Time{}
	b.timer.Stop()
	timedOut := b.timedOut
	b.mu.Unlock()
	if timedOut {
		// The body was closed under the Read; report why.
		return n, ErrReadTimeout
	}
	return n, err
}

// expire runs on the timer's goroutine. A timer that fires late, after
// its Read returned or after a later Read re-armed it, finds no Read or a
// deadline still ahead, and does nothing.
func (b *idleTimeoutBody) expire() {
	b.mu.Lock()
	if b.deadline.IsZero() || time.Now().Before(b.deadline) || b.closed {
		b.mu.Unlock()
		return
	}
	b.timedOut = true
	b.mu.Unlock()
	b.body.Close()
}

func (b *idleTimeoutBody) Close() error {
	b.mu.Lock()
	if b.timer != nil {
		b.timer.Stop()
	}
	already := b.closed
	b.closed = true
	timedOut := b.timedOut
	b.mu.Unlock()
	if already {
		return nil
	}
	err := b.body.Close()
	if timedOut {
		// Closing a body that expire already closed is not an error the
		// caller can act on.
		return nil
	}
	return err
}
