package pipeline

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/objstore-go/objstore"
)

// base returns the base transport that o configures, the environment
// ignored, and the per-read timeout layer over it.
func base(t *testing.T, o objstore.ClientOptions) (*http.Transport, *idleTransport) {
	t.Helper()
	o.IgnoreEnvironment = true
	c, err := Resolve("test", nil, &o)
	if err != nil {
		t.Fatal(err)
	}
	ht, rt := newBase(c)
	return ht, rt.(*idleTransport)
}

// TestTransportDefaults checks the bounds of requirement 7: pool idle 30 s,
// keepalive 30 s, connect 10 s, read idle 30 s; and that options change
// them.
func TestTransportDefaults(t *testing.T) {
	ht, tr := base(t, objstore.ClientOptions{})
	if ht.IdleConnTimeout != 30*time.Second || ht.TLSHandshakeTimeout != 10*time.Second || tr.readTimeout != 30*time.Second {
		t.Errorf("idle %v, TLS handshake %v, read %v; want 30s, 10s, 30s", ht.IdleConnTimeout, ht.TLSHandshakeTimeout, tr.readTimeout)
	}
	if ht.ResponseHeaderTimeout != 30*time.Second {
		t.Errorf("response header timeout %v, want 30s", ht.ResponseHeaderTimeout)
	}
	// The dialer is not reachable from the transport; its settings are
	// checked in the resolved configuration.
	c, _ := Resolve("test", nil, &objstore.ClientOptions{IgnoreEnvironment: true})
	if c.ConnectTimeout != 10*time.Second || c.KeepAlive != 30*time.Second {
		t.Errorf("connect timeout %v, keepalive %v; want 10s, 30s", c.ConnectTimeout, c.KeepAlive)
	}
	// Options change them; a negative ReadTimeout turns it off.
	ht, tr = base(t, objstore.ClientOptions{IdleConnTimeout: time.Second, KeepAlive: 2 * time.Second, ConnectTimeout: 3 * time.Second, ReadTimeout: -1})
	if ht.IdleConnTimeout != time.Second || ht.TLSHandshakeTimeout != 3*time.Second || tr.readTimeout > 0 || ht.ResponseHeaderTimeout != 0 {
		t.Errorf("the options were not applied: idle %v TLS %v read %v", ht.IdleConnTimeout, ht.TLSHandshakeTimeout, tr.readTimeout)
	}
}

// stallingServer sends the headers and the first half of a body, then
// sends nothing more until the test ends.
func stallingServer(t *testing.T, body string) *httptest.Server {
	t.Helper()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, body)
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(release); srv.Close() })
	return srv
}

// TestReadTimeoutStall proves that a body that stalls midway fails with
// ErrReadTimeout instead of hanging.
func TestReadTimeoutStall(t *testing.T) {
	srv := stallingServer(t, strings.Repeat("x", 500))
	_, tr := base(t, objstore.ClientOptions{ReadTimeout: 200 * time.Millisecond})
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if len(got) != 500 {
		t.Errorf("read %d bytes before the stall, want 500", len(got))
	}
	if !errors.Is(err, ErrReadTimeout) || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("reading a stalled body: got %v, want ErrReadTimeout", err)
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("ErrReadTimeout is not a net.Error timeout")
	}
	// Later reads keep failing, and Close is clean.
	if _, err := resp.Body.Read(make([]byte, 1)); !errors.Is(err, ErrReadTimeout) {
		t.Errorf("a read after the timeout: %v", err)
	}
	if err := resp.Body.Close(); err != nil {
		t.Errorf("Close after the timeout: %v", err)
	}
}

// TestReadTimeoutSlowBody proves that the timeout bounds each read, not
// the body: a body that trickles in for longer than the timeout, but never
// pauses that long, is read whole.
func TestReadTimeoutSlowBody(t *testing.T) {
	const n = 30
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "30")
		for range n {
			io.WriteString(w, "x")
			w.(http.Flusher).Flush()
			time.Sleep(25 * time.Millisecond)
		}
	}))
	defer srv.Close()
	// 30 reads 25 ms apart take 750 ms; each waits 25 ms of the 500 ms
	// allowed.
	_, tr := base(t, objstore.ClientOptions{ReadTimeout: 500 * time.Millisecond})
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil || len(got) != n {
		t.Errorf("read %d bytes, %v; want %d and no error", len(got), err, n)
	}
}

// TestReadTimeoutCancel checks that a context cancelled during a read
// still wins over the timer.
func TestReadTimeoutCancel(t *testing.T) {
	srv := stallingServer(t, "abc")
	_, tr := base(t, objstore.ClientOptions{ReadTimeout: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 3)
	if _, err := io.ReadFull(resp.Body, buf); err != nil {
		t.Fatal(err)
	}
	go cancel()
	_, err = io.ReadAll(resp.Body)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
}
