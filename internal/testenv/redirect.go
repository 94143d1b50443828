package testenv

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/objstore-go/objstore"
)

// NoRedirects checks that a store never follows a redirect to another
// host: for each of 301, 302, 307 and 308, a server on 127.0.0.1
// redirects every request to a recorder on 127.0.0.2 (another loopback
// address: another host), open returns a store whose endpoint is that
// server, and every operation must fail (EachOperationFails) while the
// recorder sees no request, so neither a signature nor a body. open's
// store is closed when its subtest ends. NoRedirects skips where
// 127.0.0.2 cannot be bound.
func NoRedirects(t *testing.T, open func(t *testing.T, endpoint string) objstore.Store) {
	var mu sync.Mutex
	var seen []string
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("127.0.0.2 is not available here: %v", err)
	}
	other := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.String()+" Authorization="+r.Header.Get("Authorization"))
		mu.Unlock()
		w.WriteHeader(200)
	}))
	other.Listener.Close()
	other.Listener = ln
	other.Start()
	defer other.Close()
	for _, code := range []int{301, 302, 307, 308} {
		t.Run(http.StatusText(code), func(t *testing.T) {
			redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				http.Redirect(w, r, other.URL+r.URL.RequestURI(), code)
			}))
			defer redirector.Close()
			s := open(t, redirector.URL)
			defer s.Close()
			EachOperationFails(t, s, "k")
		})
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) > 0 {
		t.Errorf("the redirect target received %d requests: %q", len(seen), seen)
	}
}
