package pipeline

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/internal/budget"
)

// maxBuffered is the largest response body the pipeline reads in full
// before handing it on, so that a connection lost while reading it is
// retried (azurecore-http-response-body). Object bodies (see [Stream])
// and larger or unsized bodies are handed on as they arrive.
const maxBuffered = 8 << 20

// RoundTrip sends req, retrying as the configuration says
// (azurecore-http-retry-*): after a network failure, and after a response
// whose status is retryable or that carries Retry-After. The request body
// is rewound before each retry; a body that cannot be rewound is sent
// once. Every attempt is the same request: the same headers, so the same
// client request ID (azurecore-http-retry-requestid). Cancelling req's
// context stops at once, between attempts as well as during one.
func (p *Pipeline) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	o := opFrom(ctx)
	hasBody := req.Body != nil && req.Body != http.NoBody
	var rewind func() (io.Reader, error)
	if hasBody {
		rewind = rewinderFor(req)
	}
	var guards []*guardedBody
	defer func() {
		for _, g := range guards {
			g.detach()
		}
		if hasBody {
			req.Body.Close()
		}
	}()

	// The request's own budget, or the one its operation's object read
	// shares (see Stream); n is an attempt's number in it.
	b := budget.From(ctx)
	if b == nil {
		b = budget.New(p.cfg.MaxRetries + 1)
	}
	sent := 0
	defer func() { o.ended(ctx, sent) }()
	for attempt := 1; ; attempt++ {
		n := b.Take()
		if n == 0 {
			return nil, fmt.Errorf("not sent: the operation made all of its %d attempts already", b.Max())
		}
		areq := req.Clone(ctx)
		areq.GetBody = nil
		if hasBody {
			var body io.Reader = req.Body
			if attempt > 1 {
				var err error
				if body, err = rewind(); err != nil {
					return nil, fmt.Errorf("rewinding the request body for attempt %d: %w", attempt, err)
				}
			}
			if rewind != nil {
				g := &guardedBody{r: body}
				guards = append(guards, g)
				areq.Body = g
			} else {
				// Sent once, so nothing else reads it; a guard's lock
				// could wait forever on a pipe.
				areq.Body = io.NopCloser(body)
			}
		}
		p.telemetry(areq)
		sent = n
		start := time.Now()
		p.logRequest(areq, n)
		resp, err := p.attempt.RoundTrip(areq)
		if err == nil && !streaming(ctx) && req.Method != http.MethodHead {
			err = buffer(resp)
			if err != nil {
				resp = nil
			}
		}
		p.logResponse(areq, resp, err, time.Since(start))
		if proxyRefused(resp, err) {
			if resp != nil {
				resp.Body.Close()
			}
			return nil, p.proxyAuthError(areq, o)
		}
		record(ctx, resp, err)

		retry, after := p.decide(ctx, resp, err, !hasBody || rewind != nil)
		if !retry || b.Left() == 0 {
			if !retry && hasBody && rewind == nil && b.Left() > 0 && err != nil && p.log != nil {
				p.log.DebugContext(ctx, "objstore: not retried: the request body cannot be rewound", "driver", p.cfg.Driver)
			}
			return resp, err
		}
		delay := p.delay(n, after)
		if p.log != nil {
			why := ""
			if err != nil {
				why = redactError(err)
			} else {
				why = resp.Status
			}
			p.log.DebugContext(ctx, "objstore: retrying", "driver", p.cfg.Driver, "method", req.Method,
				"attempt", n+1, "max_attempts", b.Max(), "delay", delay, "after", why)
		}
		if resp != nil {
			io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
		if len(guards) > 0 {
			guards[len(guards)-1].detach()
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			if err == nil {
				err = errors.New(resp.Status)
			}
			return nil, fmt.Errorf("%w (while waiting to retry after: %w)", ctx.Err(), err)
		case <-t.C:
		}
	}
}

// proxyRefused reports a 407 from a proxy: as a response to a plain
// http request, or as the error of a CONNECT for https.
func proxyRefused(resp *http.Response, err error) bool {
	if err != nil {
		return strings.Contains(err.Error(), "Proxy Authentication Required")
	}
	return resp.StatusCode == http.StatusProxyAuthRequired
}

// proxyAuthError is the error of a request a proxy refused with 407: the
// class is ErrUnauthenticated and the hint says where the credentials go
// (azurecore-http-logging-configuration).
func (p *Pipeline) proxyAuthError(r *http.Request, o *op) error {
	e := &objstore.Error{Driver: p.cfg.Driver, Kind: objstore.ErrUnauthenticated,
		Err:  fmt.Errorf("the proxy %s answered 407 Proxy Authentication Required", p.proxyFor(r)),
		Hint: "give the proxy's credentials as user:password in its URL, in proxy= or in HTTPS_PROXY/HTTP_PROXY; objstore sends them as Basic authentication"}
	if o != nil {
		e.Op, e.Key = o.name, o.key
	}
	return e
}

// telemetry sets the User-Agent of one attempt: objstore's token before
// the SDK's, or none at all with telemetry off. The SDKs do not sign
// User-Agent, so changing it after signing is safe.
func (p *Pipeline) telemetry(r *http.Request) {
	if !p.cfg.Telemetry {
		r.Header["User-Agent"] = []string{""} // net/http then sends none
		return
	}
	if sdk := r.Header.Get("User-Agent"); sdk != "" {
		r.Header.Set("User-Agent", p.userAgent+" "+sdk)
	} else {
		r.Header.Set("User-Agent", p.userAgent)
	}
}

// decide says whether an attempt that ended with resp or err is retried,
// and the delay the server asked for (0 if none).
func (p *Pipeline) decide(ctx context.Context, resp *http.Response, err error, rewindable bool) (bool, time.Duration) {
	if ctx.Err() != nil || !rewindable {
		return false, 0
	}
	if err != nil {
		return retryableError(err), 0
	}
	after := retryAfter(resp.Header)
	if slices.Contains(p.cfg.StatusCodes, resp.StatusCode) {
		return true, after
	}
	if resp.StatusCode >= 400 && resp.StatusCode < 500 && after > 0 && resp.StatusCode != http.StatusProxyAuthRequired {
		return true, after // azurecore-http-retry-after
	}
	return false, 0
}

// retryableError reports whether a failed attempt may succeed if tried
// again: any failure to connect, send or receive, including "no such
// host" (azurecore-http-retry-service-not-found), but not a certificate
// the client refuses or a proxy that wants credentials, which fail the
// same way every time.
func retryableError(err error) bool {
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var ci x509.CertificateInvalidError
	var rh tls.RecordHeaderError
	// The caller's cancellation is decided on ctx.Err(), not here:
	// net/http's own timeouts match context.DeadlineExceeded too.
	switch {
	case errors.As(err, &cv), errors.As(err, &ua), errors.As(err, &hn), errors.As(err, &ci), errors.As(err, &rh):
		return false
	}
	msg := err.Error()
	return !strings.Contains(msg, "Proxy Authentication Required") && !strings.Contains(msg, "unsupported protocol scheme")
}

// retryAfter is the delay a response asks for: Retry-After (seconds or an
// HTTP date), x-ms-retry-after-ms or retry-after-ms. Zero if none.
func retryAfter(h http.Header) time.Duration {
	for _, k := range []string{"X-Ms-Retry-After-Ms", "Retry-After-Ms"} {
		if v := h.Get(k); v != "" {
			if ms, err := strconv.ParseInt(v, 10, 64); err == nil && ms > 0 {
				return time.Duration(ms) * time.Millisecond
			}
		}
	}
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s <= 0 {
			return time.Millisecond // "retry now" still counts as asked
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), time.Millisecond)
	}
	return 0
}

// delay is the wait before attempt+1: what the server asked for, or the
// backoff with ±20% jitter, at most MaxDelay.
func (p *Pipeline) delay(attempt int, asked time.Duration) time.Duration {
	if asked > 0 {
		return min(asked, p.cfg.MaxDelay)
	}
	d := p.cfg.RetryDelay
	if p.cfg.RetryMode != objstore.RetryModeFixed {
		for i := 1; i < attempt && d < p.cfg.MaxDelay; i++ {
			d *= 2
		}
	}
	d = time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
	return min(d, p.cfg.MaxDelay)
}

// buffer reads a small response body in full, so that a connection lost
// midway fails the attempt (and is retried) rather than the SDK's parsing.
// A body of unknown length (chunked, as Azure sends listings) is read up
// to maxBuffered; a longer one is handed on as it arrives, the bytes read
// so far first.
func buffer(resp *http.Response) error {
	if resp.Body == nil || resp.Body == http.NoBody || resp.ContentLength == 0 || resp.ContentLength > maxBuffered ||
		resp.StatusCode == http.StatusNoContent || resp.StatusCode == http.StatusNotModified {
		return nil
	}
	limit := resp.ContentLength
	if limit < 0 {
		limit = maxBuffered + 1
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	if err == nil && resp.ContentLength >= 0 && int64(len(b)) < resp.ContentLength {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		resp.Body.Close()
		return fmt.Errorf("reading the response (%s): %w", resp.Status, err)
	}
	if int64(len(b)) > maxBuffered {
		resp.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(b), resp.Body), resp.Body}
		return nil
	}
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return nil
}

// rewindKey carries a request body's rewinder from an SDK middleware (the
// AWS SDK builds its http.Request without GetBody).
type rewindKey struct{}

// WithRewind returns a context whose requests' bodies can be sent again:
// rewind returns the body from its start.
func WithRewind(ctx context.Context, rewind func() (io.Reader, error)) context.Context {
	return context.WithValue(ctx, rewindKey{}, rewind)
}

// rewinderFor returns how to send req's body again, or nil when it
// cannot be (azurecore-http-retry-reset-data-stream).
func rewinderFor(req *http.Request) func() (io.Reader, error) {
	if f, ok := req.Context().Value(rewindKey{}).(func() (io.Reader, error)); ok && f != nil {
		return f
	}
	if req.GetBody != nil {
		return func() (io.Reader, error) { return req.GetBody() }
	}
	return nil
}

// guardedBody is the body of one attempt. Once detached, it fails every
// Read and waits for one in progress: net/http may still read an
// abandoned attempt's body from its own goroutine, and the next attempt
// reads the same source. Close does not close the source; RoundTrip
// closes the request's body once, at the end.
type guardedBody struct {
	mu       sync.Mutex
	r        io.Reader
	detached bool
}

var errDetached = errors.New("objstore: the request body of an abandoned attempt")

func (g *guardedBody) Read(p []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.detached {
		return 0, errDetached
	}
	return g.r.Read(p)
}

func (g *guardedBody) Close() error { return nil }

func (g *guardedBody) detach() {
	g.mu.Lock()
	g.detached = true
	g.mu.Unlock()
}
