package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/driver"
)

// How the test object server answers one GET.
const (
	serve = "serve" // the bytes asked for
	cut   = "cut"   // half of them, then the connection drops
	reset = "reset" // a connection reset, before any response
	busy  = "503"   // 503 Service Unavailable
)

// objectServer serves one object, answering its GETs as script says (the
// last entry repeats), and counts them.
type objectServer struct {
	*httptest.Server
	data   []byte
	script []string

	mu   sync.Mutex
	gets int
}

func newObjectServer(t *testing.T, data []byte, script ...string) *objectServer {
	s := &objectServer{data: data, script: script}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		what := s.script[min(s.gets, len(s.script)-1)]
		s.gets++
		s.mu.Unlock()
		from, to := 0, len(s.data)-1
		if rg := r.Header.Get("Range"); rg != "" {
			fmt.Sscanf(rg, "bytes=%d-%d", &from, &to)
		}
		body := s.data[from : to+1]
		switch what {
		case reset:
			conn, _, _ := http.NewResponseController(w).Hijack()
			conn.(*net.TCPConn).SetLinger(0)
			conn.Close()
		case busy:
			w.WriteHeader(http.StatusServiceUnavailable)
		case serve, cut:
			w.Header().Set("Content-Length", fmt.Sprint(len(body)))
			w.Header().Set("ETag", `"v1"`)
			w.WriteHeader(http.StatusPartialContent)
			if what == serve {
				w.Write(body)
				return
			}
			w.Write(body[:len(body)/2])
			http.NewResponseController(w).Flush()
			panic(http.ErrAbortHandler)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *objectServer) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gets
}

// get is a driver's GET through p: the bytes [offset, offset+length) of
// the object, or an error.
func get(p *Pipeline, ctx context.Context, url string, offset, length int64) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", offset, offset+length-1))
	resp, err := p.RoundTrip(req)
	if err != nil {
		return nil, &objstore.Error{Driver: "test", Op: "get", Key: "k", Err: err}
	}
	if resp.StatusCode != http.StatusPartialContent {
		resp.Body.Close()
		return nil, &objstore.Error{Driver: "test", Op: "get", Key: "k", Err: errors.New(resp.Status)}
	}
	return resp.Body, nil
}

// TestGetBudget: a Get and the resumptions of its body share one retry
// budget (rule R1). With MaxRetries 3 it makes at most 4 GETs, however
// its body breaks, and the error says how many it made.
func TestGetBudget(t *testing.T) {
	const maxRetries = 3
	data := bytes.Repeat([]byte("0123456789abcdef"), 4096)
	for _, tt := range []struct {
		name   string
		script []string
		gets   int  // GETs the server sees
		ok     bool // the Get reads every byte
	}{
		{"breaks once", []string{cut, serve}, 2, true},
		{"breaks, a resumption is reset, then heals", []string{cut, reset, serve}, 3, true},
		{"breaks until the last attempt", []string{cut, cut, cut, serve}, 4, true},
		// Each resumption is an attempt of the Get: the fourth GET is the
		// last, and it fails.
		{"keeps breaking", []string{cut}, 4, false},
		// Before the budget was shared, each of the 3 resumptions retried
		// 4 times: 13 GETs.
		{"breaks, then every connection is reset", []string{cut, reset}, 4, false},
		{"breaks, then the server is busy", []string{cut, busy}, 4, false},
		{"busy from the start", []string{busy}, 4, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := newObjectServer(t, data, tt.script...)
			p := newPipe(t, fast(objstore.ClientOptions{Retry: objstore.RetryOptions{MaxRetries: maxRetries},
				// A fresh connection for every attempt: net/http replays
				// no request, so the server counts the pipeline's attempts.
				Transport: &http.Transport{DisableKeepAlives: true}}))
			st, err := objstore.NewStore(&pipeBucket{p: p, url: srv.URL, size: int64(len(data))}, "")
			if err != nil {
				t.Fatal(err)
			}
			var got []byte
			r, err := st.Get(context.Background(), "k", nil)
			if err == nil {
				got, err = io.ReadAll(r)
				r.Close()
			}
			if n := srv.count(); n != tt.gets {
				t.Errorf("the server saw %d GETs; want %d", n, tt.gets)
			}
			if tt.ok {
				if err != nil || !bytes.Equal(got, data) {
					t.Errorf("read %d bytes (equal: %v), %v; want the whole object", len(got), bytes.Equal(got, data), err)
				}
				return
			}
			var oe *objstore.Error
			if !errors.As(err, &oe) || oe.Attempts != tt.gets || !strings.Contains(err.Error(), fmt.Sprintf("(after %d attempts)", tt.gets)) {
				t.Errorf("the error %v does not say it made %d attempts (Attempts %d)", err, tt.gets, attemptsOf(err))
			}
			if !bytes.HasPrefix(data, got) {
				t.Errorf("the %d bytes read before the error are not the object's first", len(got))
			}
		})
	}
}

func attemptsOf(err error) int {
	var oe *objstore.Error
	if errors.As(err, &oe) {
		return oe.Attempts
	}
	return 0
}

// TestEachRequestHasItsBudget: outside an object read, each request of an
// operation (a part of an upload, a page of a listing) has a budget of its
// own, so that many requests survive a few transient failures each.
func TestEachRequestHasItsBudget(t *testing.T) {
	srv := newServer(t, status(503), status(503), status(200), status(503), status(503), status(200))
	p := newPipe(t, fast(objstore.ClientOptions{Retry: objstore.RetryOptions{MaxRetries: 2}}))
	ctx, end := p.Begin(context.Background(), "put", "k")
	for part := 1; part <= 2; part++ {
		resp, err := put(t, p, ctx, srv.URL, "part")
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("part %d: %v; want 200 on its third attempt", part, err)
		}
		resp.Body.Close()
	}
	end(nil)
	if n := len(srv.requests()); n != 6 {
		t.Errorf("the server saw %d requests; want 6, 3 for each part", n)
	}
}

// pipeBucket is a driver.Bucket whose Get sends its GETs through p, as a
// network driver's do; the portable store over it begins each operation
// in p and resumes its reads.
type pipeBucket struct {
	driver.Bucket // nil: the test calls Get only
	p             *Pipeline
	url           string
	size          int64
}

func (b *pipeBucket) Info() driver.Info { return driver.Info{Scheme: "test"} }

func (b *pipeBucket) Begin(ctx context.Context, op, key string) (context.Context, func(error) error) {
	ctx, end := b.p.Begin(ctx, op, key)
	return Stream(ctx), end
}

func (b *pipeBucket) Get(ctx context.Context, _ string, r driver.GetRequest) (driver.Object, error) {
	n := r.Length
	if n < 0 {
		n = b.size - r.Offset
	}
	body, err := get(b.p, ctx, b.url, r.Offset, n)
	if err != nil {
		return driver.Object{}, err
	}
	return driver.Object{Attrs: driver.Attrs{Size: b.size, ETag: `"v1"`}, Offset: r.Offset, Length: n, Body: body}, nil
}
