package testenv

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/objstore-go/objstore"
)

// ForwardProxy is an HTTP forward proxy for tests: it takes absolute-URI
// requests (and CONNECT), asks for Basic credentials when given some, and
// sends every request to one fixed address whatever its host name, so
// that a store can name a server by a host that does not resolve
// (proving the request went through the proxy).
type ForwardProxy struct {
	srv          *httptest.Server
	target       string // host:port every request goes to
	user, secret string
	rewriteHost  bool // send the target as Host (Azurite reads the account from a named host)

	mu   sync.Mutex
	seen []string // "METHOD host" of each request that passed
	auth int      // requests refused with 407
}

// NewForwardProxy starts a proxy that sends everything to target
// (host:port). With user set, requests need Basic credentials user:secret.
func NewForwardProxy(t testing.TB, target, user, secret string) *ForwardProxy {
	p := &ForwardProxy{target: target, user: user, secret: secret}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.srv.Close)
	return p
}

// URL is the proxy's URL, with userinfo if given (nil for none).
func (p *ForwardProxy) URL(userinfo *url.Userinfo) string {
	u, _ := url.Parse(p.srv.URL)
	u.User = userinfo
	return u.String()
}

// Seen returns "METHOD host" for each request the proxy passed on.
func (p *ForwardProxy) Seen() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.seen...)
}

// Refused is how many requests got a 407.
func (p *ForwardProxy) Refused() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.auth
}

func (p *ForwardProxy) serve(w http.ResponseWriter, r *http.Request) {
	if p.user != "" {
		want := "Basic " + base64.StdEncoding.EncodeToString([]byte(p.user+":"+p.secret))
		if r.Header.Get("Proxy-Authorization") != want {
			p.mu.Lock()
			p.auth++
			p.mu.Unlock()
			w.Header().Set("Proxy-Authenticate", `Basic realm="objstore-test"`)
			http.Error(w, "proxy credentials needed", http.StatusProxyAuthRequired)
			return
		}
	}
	p.mu.Lock()
	p.seen = append(p.seen, r.Method+" "+r.Host)
	p.mu.Unlock()
	if r.Method == http.MethodConnect {
		p.tunnel(w)
		return
	}
	out := r.Clone(r.Context())
	out.RequestURI = ""
	out.URL.Host = p.target
	if p.rewriteHost {
		out.Host = p.target
	}
	out.Header.Del("Proxy-Authorization")
	out.Header.Del("Proxy-Connection")
	resp, err := http.DefaultTransport.RoundTrip(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	for k, vs := range resp.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
}

func (p *ForwardProxy) tunnel(w http.ResponseWriter) {
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	w.WriteHeader(http.StatusOK)
	conn, buf, err := w.(http.Hijacker).Hijack()
	if err != nil {
		up.Close()
		return
	}
	go func() {
		io.Copy(up, buf)
		up.Close()
	}()
	io.Copy(conn, up)
	conn.Close()
}

// HostPort is the host:port of an http URL such as an endpoint.
func HostPort(t testing.TB, rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		t.Fatalf("%q is not a URL with a host", rawURL)
	}
	return strings.TrimSuffix(u.Host, "/")
}

// ProxyScenario is requirement 5 of the pipeline, run by each network
// driver against its real server: proxy=URL with Basic credentials in its
// userinfo, HTTP_PROXY from the environment and NO_PROXY, the proxy named
// in the request logs, and a 407 logged at Warn and classified, never
// retried, without the password showing.
type ProxyScenario struct {
	// Target is the server's host:port; the proxy sends everything there.
	Target string
	// Host is the unresolvable host name the store URL gives its endpoint.
	Host string
	// RewriteHost makes the proxy send the target as the Host header, for
	// a server that reads meaning into a host name (Azurite) and a
	// signature that does not cover it (Azure's shared key).
	RewriteHost bool
	// Open opens the store with extra appended to its URL's query; the
	// URL must carry retries=0 so that a failure is fast.
	Open func(ctx context.Context, extra string) (objstore.Store, error)
}

// Run runs the scenario.
func (sc ProxyScenario) Run(t *testing.T) {
	ctx := context.Background()
	const user, password = "proxyuser", "proxy-canary-Zq81"
	fp := NewForwardProxy(t, sc.Target, user, password)
	fp.rewriteHost = sc.RewriteHost
	open := func(t *testing.T, extra string) objstore.Store {
		t.Helper()
		s, err := sc.Open(ctx, extra)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	proxyParam := func(pw string) string {
		return "&proxy=" + url.QueryEscape(fp.URL(url.UserPassword(user, pw)))
	}

	t.Run("proxy=URL", func(t *testing.T) {
		logs := CaptureLogs(t)
		s := open(t, proxyParam(password))
		if _, err := s.Put(ctx, "proxy-test", strings.NewReader("through the proxy"), nil); err != nil {
			t.Fatal(err)
		}
		if got, _, err := objstore.ReadAll(ctx, s, "proxy-test"); err != nil || string(got) != "through the proxy" {
			t.Fatalf("read back %q, %v", got, err)
		}
		if seen := fp.Seen(); len(seen) < 2 || !strings.Contains(seen[0], sc.Host) {
			t.Errorf("the proxy saw %v; want the Put and the Get to %s", seen, sc.Host)
		}
		l := logs.String()
		if !strings.Contains(l, "proxy=http://127.0.0.1:") {
			t.Errorf("the request logs do not say a proxy was used:\n%s", l)
		}
		CheckNoSecrets(t, l, password)
	})

	t.Run("wrong password", func(t *testing.T) {
		logs := CaptureLogs(t)
		s := open(t, proxyParam("wrong-canary-Pq02"))
		before := fp.Refused()
		_, err := s.Stat(ctx, "proxy-test")
		if !errors.Is(err, objstore.ErrUnauthenticated) || !strings.Contains(err.Error(), "user:password") {
			t.Errorf("the error neither classifies the 407 nor says where the credentials go: %v", err)
		}
		if n := fp.Refused() - before; n != 1 {
			t.Errorf("the request met the 407 %d times; it must not be retried", n)
		}
		l := logs.String()
		if !strings.Contains(l, "level=WARN") || !strings.Contains(l, "407") || strings.Contains(l, "wrong-canary-Pq02") {
			t.Errorf("the 407 is not logged at Warn, or the password shows:\n%s", l)
		}
	})

	t.Run("HTTP_PROXY and NO_PROXY", func(t *testing.T) {
		t.Setenv("HTTP_PROXY", fp.URL(url.UserPassword(user, password)))
		t.Setenv("NO_PROXY", "")
		s := open(t, "")
		before := len(fp.Seen())
		if _, err := s.Put(ctx, "proxy-env", strings.NewReader("x"), nil); err != nil {
			t.Fatalf("Put through HTTP_PROXY: %v", err)
		}
		if len(fp.Seen()) == before {
			t.Error("HTTP_PROXY was not used")
		}
		t.Setenv("NO_PROXY", sc.Host)
		s = open(t, "")
		if _, err := s.Stat(ctx, "proxy-env"); err == nil || !strings.Contains(err.Error(), "no such host") {
			t.Errorf("with NO_PROXY naming the host the request still went through the proxy: %v", err)
		}
	})
}

// EachOperationFails runs Stat, Put, Get, List and Delete of key on s and
// reports each one that succeeded: for tests in which s must not reach
// its server (a refused redirect, say).
func EachOperationFails(t *testing.T, s objstore.Store, key string) {
	t.Helper()
	ctx := context.Background()
	_, stat := s.Stat(ctx, key)
	_, put := s.Put(ctx, key, strings.NewReader("body"), nil)
	r, get := s.Get(ctx, key, nil)
	if get == nil {
		r.Close()
	}
	list := errors.New("List yielded nothing")
	for _, err := range s.List(ctx, nil) {
		list = err
		break
	}
	del := s.Delete(ctx, key)
	for _, c := range []struct {
		op  string
		err error
	}{{"Stat", stat}, {"Put", put}, {"Get", get}, {"List", list}, {"Delete", del}} {
		if c.err == nil {
			t.Errorf("%s succeeded", c.op)
		}
	}
}
