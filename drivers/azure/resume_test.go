package azure_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/drivers/azure"
)

// cutProxy forwards to the real server and cuts the body of the next GET
// of one blob after a number of bytes: the client sees the connection
// close before Content-Length bytes arrived. It records every GET of
// that blob.
type cutProxy struct {
	srv *httptest.Server

	mu       sync.Mutex
	suffix   string // the blob's path ends so
	cutAfter int    // > 0: cut the next GET's body after this many bytes
	onCut    func() // runs once the cut bytes are sent, before the connection drops
	gets     []http.Header
}

// newCutProxy returns a proxy to the backend and the endpoint to give the
// driver instead.
func newCutProxy(t *testing.T, b backend) (*cutProxy, string) {
	t.Helper()
	target, err := url.Parse(b.endpoint)
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.Out.URL.Scheme, r.Out.URL.Host = target.Scheme, target.Host
			r.Out.Host = target.Host
		},
		ErrorLog: log.New(io.Discard, "", 0),
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
	return p, p.srv.URL + target.Path
}

// arm makes the proxy cut the next GET of key after n bytes.
func (p *cutProxy) arm(key string, n int, onCut func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.suffix, p.cutAfter, p.onCut, p.gets = "/"+key, n, onCut, nil
}

func (p *cutProxy) recorded() []http.Header {
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

// TestResumeAzurite cuts the body of a Get midway: the Reader resumes with
// one ranged Get Blob pinned to the ETag and reads the blob back byte for
// byte; when the blob is overwritten between the cut and the resumption,
// Read returns ErrPrecondition after a prefix of the old content only.
func TestResumeAzurite(t *testing.T) {
	b := testBackend(t)
	p, endpoint := newCutProxy(t, b)
	prefix := randomPrefix(t)
	raw := func(endpoint string) string {
		return fmt.Sprintf("azblob://%s/%s?endpoint=%s&account=%s&credential=%s",
			b.container, prefix, url.QueryEscape(endpoint), b.account, credName(t, b))
	}
	direct := open(t, raw(b.endpoint), nil)
	proxied := open(t, raw(endpoint), nil)
	ctx := context.Background()
	const size, cutAt = 8 << 20, 3<<20 + 12345
	old := make([]byte, size)
	rand.Read(old)

	tests := []struct {
		name      string
		rng       *objstore.Range
		overwrite bool
	}{
		{name: "whole"},
		{name: "head", rng: &objstore.Range{Offset: 0, Length: 5 << 20}},
		{name: "range", rng: &objstore.Range{Offset: 1000, Length: 6 << 20}},
		{name: "overwritten", overwrite: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := "big-" + tt.name
			a, err := direct.Put(ctx, key, bytes.NewReader(old), nil)
			if err != nil {
				t.Fatal(err)
			}
			var onCut func()
			if tt.overwrite {
				onCut = func() {
					if _, err := direct.Put(ctx, key, strings.NewReader("new content"), nil); err != nil {
						t.Errorf("overwriting during the cut: %v", err)
					}
				}
			}
			p.arm(key, cutAt, onCut)
			r, err := proxied.Get(ctx, key, &objstore.GetOptions{Range: tt.rng})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			got, err := io.ReadAll(r)
			off, end := int64(0), int64(size)
			if tt.rng != nil {
				off, end = tt.rng.Offset, tt.rng.Offset+tt.rng.Length
			}
			want := old[off:end]
			if tt.overwrite {
				var oe *objstore.Error
				if !errors.Is(err, objstore.ErrPrecondition) || !errors.As(err, &oe) || oe.Driver != azure.Scheme || oe.Key != key {
					t.Errorf("reading across an overwrite: %v; want an *objstore.Error of class ErrPrecondition", err)
				}
				if len(got) != cutAt || !bytes.Equal(got, want[:len(got)]) {
					t.Errorf("read %d bytes before the error; want the first %d of the old content", len(got), cutAt)
				}
			} else if err != nil || !bytes.Equal(got, want) {
				t.Errorf("ReadAll: %d bytes (equal: %v), %v; want the %d bytes of the range", len(got), bytes.Equal(got, want), err, len(want))
			}
			gets := p.recorded()
			if len(gets) != 2 {
				t.Fatalf("the proxy saw %d GETs of the blob; want 2, the cut one and one resumption", len(gets))
			}
			rg := gets[1].Get("X-Ms-Range")
			if rg == "" {
				rg = gets[1].Get("Range")
			}
			wantRange := fmt.Sprintf("bytes=%d-%d", off+cutAt, end-1)
			if im := gets[1].Get("If-Match"); rg != wantRange || im != a.ETag {
				t.Errorf("the resumption asked for range %q If-Match %q; want %q and %q", rg, im, wantRange, a.ETag)
			}
		})
	}
}
