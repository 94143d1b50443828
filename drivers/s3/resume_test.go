package s3

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/objstore-go/objstore"
)

// cutProxy forwards to the real server and cuts the body of the next GET
// of one key after a number of bytes: the client sees the connection
// close before Content-Length bytes arrived. It records every GET of
// that key.
type cutProxy struct {
	srv *httptest.Server

	mu       sync.Mutex
	suffix   string // the key's path ends so
	cutAfter int    // > 0: cut the next GET's body after this many bytes
	onCut    func() // runs once the cut bytes are sent, before the connection drops
	gets     []http.Header
}

func newCutProxy(t *testing.T, endpoint string) *cutProxy {
	t.Helper()
	target, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{}
	rp := &httputil.ReverseProxy{
		// The Host header stays the proxy's: the SDK signed it.
		Rewrite:  func(r *httputil.ProxyRequest) { r.Out.URL.Scheme, r.Out.URL.Host = target.Scheme, target.Host },
		ErrorLog: log.New(io.Discard, "", 0),
	}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		mine := r.Method == http.MethodGet && p.suffix != "" && strings.HasSuffix(r.URL.Path, p.suffix)
		var cut, onCut = 0, p.onCut
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

// resumeStores opens the store under test twice at one fresh prefix: once
// through a cutProxy, once directly.
func resumeStores(t *testing.T) (proxied, direct *Store, p *cutProxy) {
	t.Helper()
	u := testURL(t)
	q := u.Query()
	endpoint := q.Get("endpoint")
	if endpoint == "" {
		t.Skipf("%s has no endpoint=; the proxy needs one to forward to", urlVar)
	}
	p = newCutProxy(t, endpoint)
	u.Path = "/" + path.Join(strings.Trim(u.Path, "/"), "objstore-s3-resume-"+randomHex(6))
	direct, err := OpenURL(t.Context(), u, nil)
	if err != nil {
		t.Fatalf("OpenURL: %v", err)
	}
	t.Cleanup(func() { cleanup(t, direct); direct.Close() })
	q.Set("endpoint", p.srv.URL)
	u.RawQuery = q.Encode()
	proxied, err = OpenURL(t.Context(), u, nil)
	if err != nil {
		t.Fatalf("OpenURL through the proxy: %v", err)
	}
	t.Cleanup(func() { proxied.Close() })
	return proxied, direct, p
}

// TestResumeS3 cuts the body of a Get midway: the Reader resumes with one
// ranged GET pinned to the ETag and reads the object back byte for byte;
// when the object is overwritten between the cut and the resumption, Read
// returns ErrPrecondition after a prefix of the old content only.
func TestResumeS3(t *testing.T) {
	proxied, direct, p := resumeStores(t)
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
				if !errors.Is(err, objstore.ErrPrecondition) || !errors.As(err, &oe) || oe.Driver != Scheme || oe.Key != key {
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
				t.Fatalf("the proxy saw %d GETs of the key; want 2, the cut one and one resumption", len(gets))
			}
			wantRange := "bytes=" + strconv.FormatInt(off+cutAt, 10) + "-" + strconv.FormatInt(end-1, 10)
			if rg, im := gets[1].Get("Range"), gets[1].Get("If-Match"); rg != wantRange || im != a.ETag {
				t.Errorf("the resumption asked for Range %q If-Match %q; want %q and %q", rg, im, wantRange, a.ETag)
			}
		})
	}
}
