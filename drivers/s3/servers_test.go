package s3

import (
	"net/http"
	"net/url"
	"path"
	"strings"
	"testing"

	"github.com/objstore-go/objstore/internal/testenv"
)

// forEachServer runs f as a subtest against each S3 server `make test`
// starts (testenv.EachS3), with the server's URL parsed.
func forEachServer(t *testing.T, f func(t *testing.T, server string, u *url.URL)) {
	testenv.EachS3(t, func(t *testing.T, srv testenv.S3Server, raw string) {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatalf("%s: %v", srv.URLVar, err)
		}
		f(t, srv.Name, u)
	})
}

// openServer opens u's bucket, or bucket if not empty, at a fresh key
// prefix, sending its requests through a recorder. A store on u's own
// bucket deletes what the test leaves there.
func openServer(t *testing.T, u *url.URL, bucket string, opts *Options) (*Store, *recorder) {
	t.Helper()
	v := *u
	if bucket != "" {
		v.Host = bucket
	}
	v.Path = "/" + path.Join(strings.Trim(u.Path, "/"), "objstore-s3-test-"+randomHex(6))
	var o Options
	if opts != nil {
		o = *opts
	}
	rec := &recorder{next: http.DefaultTransport}
	o.HTTPClient = &http.Client{Transport: rec}
	s, err := OpenURL(t.Context(), &v, &o)
	if err != nil {
		t.Fatalf("OpenURL: %v", err)
	}
	t.Cleanup(func() { s.Close() }) // after cleanup: cleanups run last first
	if bucket == "" {
		t.Cleanup(func() { cleanup(t, s) })
	}
	return s, rec
}
