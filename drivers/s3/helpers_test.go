package s3

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/objstore-go/objstore/internal/testenv"
)

// urlVar names the variable that points the tests at MinIO, the S3 server
// of a test that does not run through eachServer.
const urlVar = "OBJSTORE_TEST_S3_URL"

// servers maps the name of each subtest that eachServer started to its
// server.
var servers sync.Map // string -> server

type server struct {
	testenv.S3Server
	url string
}

// eachServer runs f as a subtest per S3 server (testenv.S3Servers, named
// "minio", "versitygw"). Within f and its subtests, testURL and openTest
// reach that subtest's server.
func eachServer(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	testenv.EachS3(t, func(t *testing.T, srv testenv.S3Server, raw string) {
		servers.Store(t.Name(), server{srv, raw})
		t.Cleanup(func() { servers.Delete(t.Name()) })
		f(t)
	})
}

// serverOf returns the server eachServer chose for the test named name or
// for a test it runs in.
func serverOf(name string) (server, bool) {
	for {
		if v, ok := servers.Load(name); ok {
			return v.(server), true
		}
		i := strings.LastIndexByte(name, '/')
		if i < 0 {
			return server{}, false
		}
		name = name[:i]
	}
}

// testURL returns the URL of the server under test: the one eachServer
// chose for t, else MinIO's. It skips the test (or fails it under CI=true)
// when MinIO's variable is not set.
func testURL(t testing.TB) *url.URL {
	t.Helper()
	srv, ok := serverOf(t.Name())
	if !ok {
		srv = server{testenv.S3Servers[0], testenv.URL(t, urlVar)}
	}
	u, err := url.Parse(srv.url)
	if err != nil {
		t.Fatalf("%s: %v", srv.URLVar, err)
	}
	return u
}

// TestEachServer checks that testURL, in a test eachServer runs and in
// its subtests, gives that test's server and not MinIO's.
func TestEachServer(t *testing.T) {
	for i, srv := range testenv.S3Servers {
		t.Setenv(srv.URLVar, "s3://b?endpoint=http://127.0.0.1:"+strconv.Itoa(i+1))
	}
	var got []string
	eachServer(t, func(t *testing.T) {
		got = append(got, testURL(t).String())
		t.Run("sub", func(t *testing.T) { got = append(got, testURL(t).String()) })
	})
	want := []string{"s3://b?endpoint=http://127.0.0.1:1", "s3://b?endpoint=http://127.0.0.1:1",
		"s3://b?endpoint=http://127.0.0.1:2", "s3://b?endpoint=http://127.0.0.1:2"}
	if !slices.Equal(got, want) {
		t.Errorf("testURL gave %q, want %q", got, want)
	}
}

// openTest opens the store under test at a fresh key prefix, sending its
// requests through a recorder, and deletes what the test leaves there,
// pending multipart uploads included. opts may be nil.
func openTest(t testing.TB, opts *Options) (*Store, *recorder) {
	t.Helper()
	u := testURL(t)
	prefix := "objstore-s3-test-" + randomHex(6)
	u.Path = "/" + path.Join(strings.Trim(u.Path, "/"), prefix)
	var o Options
	if opts != nil {
		o = *opts
	}
	rec := &recorder{next: http.DefaultTransport}
	o.HTTPClient = &http.Client{Transport: rec}
	s, err := OpenURL(t.Context(), u, &o)
	if err != nil {
		t.Fatalf("OpenURL: %v", err)
	}
	t.Cleanup(func() { cleanup(t, s) })
	return s, rec
}

// cleanup deletes every object and aborts every upload under s's prefix.
func cleanup(t testing.TB, s *Store) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for e, err := range s.List(ctx, nil) {
		if err != nil {
			t.Logf("cleanup: %v", err)
			break
		}
		if err := s.Delete(ctx, e.Key); err != nil {
			t.Logf("cleanup: %v", err)
		}
	}
	for _, u := range pendingUploads(t, s, "") {
		s.b.client.AbortMultipartUpload(ctx, &awss3.AbortMultipartUploadInput{Bucket: &s.b.bucket, Key: u.Key, UploadId: u.UploadId})
	}
}

// pendingUploads lists the multipart uploads in progress for the backend
// keys under s's prefix + key.
func pendingUploads(t testing.TB, s *Store, key string) []types.MultipartUpload {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := s.b.client.ListMultipartUploads(ctx, &awss3.ListMultipartUploadsInput{
		Bucket: &s.b.bucket,
		Prefix: aws.String(s.b.prefix + key),
	})
	if err != nil {
		t.Fatalf("ListMultipartUploads: %v", err)
	}
	return out.Uploads
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// recorder is an http.RoundTripper that counts, per S3 operation, the
// requests sent and the body bytes that cross the client's transport in
// each direction.
type recorder struct {
	next http.RoundTripper

	mu       sync.Mutex
	ops      []string         // the operations, in order
	status   map[string][]int // each operation's response statuses, 0 for none
	sent     int64            // request body bytes
	received int64            // response body bytes
	// tamper, if set, may change a response before the SDK sees it.
	tamper func(req *http.Request, resp *http.Response)
	// fail, if set and true for a request, answers it with a 503 that asks
	// to be retried at once, after reading up to 1 MiB of its body; the
	// server never sees it.
	fail func(req *http.Request) bool
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	op := operation(req)
	r.mu.Lock()
	r.ops = append(r.ops, op)
	tamper, fail := r.tamper, r.fail
	r.mu.Unlock()
	if fail != nil && fail(req) {
		if req.Body != nil {
			io.CopyN(io.Discard, req.Body, 1<<20)
			req.Body.Close()
		}
		return &http.Response{
			StatusCode: http.StatusServiceUnavailable,
			Status:     "503 Service Unavailable",
			Header:     http.Header{"Retry-After-Ms": {"1"}, "Content-Type": {"application/xml"}},
			Body:       io.NopCloser(strings.NewReader(`<Error><Code>SlowDown</Code><Message>injected by the test</Message></Error>`)),
			Request:    req,
		}, nil
	}
	if req.Body != nil && req.Body != http.NoBody {
		req = req.Clone(req.Context())
		req.Body = &countingBody{ReadCloser: req.Body, n: r.add(&r.sent)}
	}
	resp, err := r.next.RoundTrip(req)
	code := 0
	if err == nil {
		code = resp.StatusCode
	}
	r.mu.Lock()
	if r.status == nil {
		r.status = map[string][]int{}
	}
	r.status[op] = append(r.status[op], code)
	r.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if tamper != nil {
		tamper(req, resp)
	}
	resp.Body = &countingBody{ReadCloser: resp.Body, n: r.add(&r.received)}
	return resp, nil
}

func (r *recorder) add(total *int64) func(int) {
	return func(n int) {
		r.mu.Lock()
		*total += int64(n)
		r.mu.Unlock()
	}
}

// reset forgets what was recorded so far.
func (r *recorder) reset() {
	r.mu.Lock()
	r.ops, r.sent, r.received, r.status = nil, 0, 0, nil
	r.mu.Unlock()
}

// snapshot returns the operations and byte counts recorded since reset.
func (r *recorder) snapshot() (ops []string, sent, received int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.ops...), r.sent, r.received
}

// count returns how many requests of operation op were recorded.
func (r *recorder) count(op string) int {
	ops, _, _ := r.snapshot()
	n := 0
	for _, o := range ops {
		if o == op {
			n++
		}
	}
	return n
}

// operation names the S3 operation req is.
func operation(req *http.Request) string {
	q := req.URL.Query()
	if id := q.Get("x-id"); id != "" {
		return id
	}
	_, uploads := q["uploads"]
	switch {
	case req.Method == http.MethodHead && !strings.Contains(strings.Trim(req.URL.Path, "/"), "/"):
		return "HeadBucket" // path-style: /bucket
	case req.Method == http.MethodHead:
		return "HeadObject"
	case q.Get("list-type") == "2":
		return "ListObjectsV2"
	case req.Method == http.MethodPost && uploads:
		return "CreateMultipartUpload"
	case req.Method == http.MethodGet && uploads:
		return "ListMultipartUploads"
	case req.Method == http.MethodPost && q.Has("uploadId"):
		return "CompleteMultipartUpload"
	case req.Method == http.MethodDelete && q.Has("uploadId"):
		return "AbortMultipartUpload"
	}
	return req.Method + " " + req.URL.Path
}

type countingBody struct {
	io.ReadCloser
	n func(int)
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n(n)
	return n, err
}

// statuses returns the response statuses op got, in order (0: no
// response).
func (r *recorder) statuses(op string) []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int(nil), r.status[op]...)
}
