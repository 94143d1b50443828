package azure

import (
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// The transport's defaults. Together they bound the time a request can
// hang on a dead connection to tens of seconds, where Go's defaults (no
// read timeout, a 90 s idle pool, 15 s keepalive) and the kernel's
// retransmission timeout (about 15 minutes on Linux) would let it hang
// far longer.
const (
	// DefaultIdleConnTimeout drops pooled connections idle this long,
	// before a DNS change (a rotated front end) makes them stale.
	DefaultIdleConnTimeout = 30 * time.Second
	// DefaultKeepAlive is the TCP keepalive period: a dead peer that never
	// closed the connection is noticed in seconds, not hours.
	DefaultKeepAlive = 30 * time.Second
	// DefaultConnectTimeout bounds dialling a new connection.
	DefaultConnectTimeout = 10 * time.Second
	// DefaultReadTimeout bounds each read of a response body. It restarts
	// after every read that returns data, so it limits a stall, not the
	// size of a body.
	DefaultReadTimeout = 30 * time.Second
)

// NewTransport returns the HTTP transport the driver uses when it builds
// its own client, with the timeouts of opts (zero fields take the
// Default values above). Pass it as ClientOptions.Transport to build an
// *azblob.Client for [New] that behaves the same way.
func NewTransport(opts *Options) policy.Transporter {
	o := opts.withDefaults()
	return newTransport(o)
}

// transport is an azcore Transporter: an *http.Client whose response
// bodies fail once a read stalls for readTimeout.
type transport struct {
	client      *http.Client
	dialer      *net.Dialer
	readTimeout time.Duration // <= 0: none
}

func newTransport(o Options) *transport {
	dialer := &net.Dialer{Timeout: o.ConnectTimeout, KeepAlive: o.KeepAlive}
	t := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		IdleConnTimeout:       o.IdleConnTimeout,
		TLSHandshakeTimeout:   o.ConnectTimeout,
		ExpectContinueTimeout: time.Second,
		MaxIdleConns:          100,
		// Go's default of 2 idle connections per host would make every
		// concurrent block upload beyond the second dial anew.
		MaxIdleConnsPerHost: 64,
		ForceAttemptHTTP2:   true,
	}
	return &transport{client: &http.Client{Transport: t}, dialer: dialer, readTimeout: o.ReadTimeout}
}

// Do sends req and wraps the response body in the per-read timeout.
func (t *transport) Do(req *http.Request) (*http.Response, error) {
	resp, err := t.client.Do(req)
	if err != nil || t.readTimeout <= 0 || resp.Body == nil || resp.Body == http.NoBody {
		return resp, err
	}
	resp.Body = newIdleTimeoutBody(resp.Body, t.readTimeout)
	return resp, nil
}

// closeIdle releases the pooled connections.
func (t *transport) closeIdle() { t.client.CloseIdleConnections() }

// ErrReadTimeout is the error a response body returns when no byte arrived
// for the transport's read timeout. It matches os.ErrDeadlineExceeded with
// errors.Is, and is a net.Error whose Timeout method reports true.
var ErrReadTimeout error = readTimeoutError{}

type readTimeoutError struct{}

func (readTimeoutError) Error() string {
	return "azblob: no data arrived on the response body within the read timeout; the connection looks stalled"
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

var errClosed = errors.New("the store is closed")
