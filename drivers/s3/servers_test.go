package s3

import (
	"net/http"
	"net/url"
	"path"
	"strings"
	"testing"

	"github.com/objstore-go/objstore/internal/testenv"
)

// s3Servers are the S3 servers the tests run against, and the variables
// that point at them: `make test` starts each one and sets its variable.
var s3Servers = []struct{ name, env string }{
	{"minio", urlVar},
	{"versitygw", "OBJSTORE_TEST_VERSITYGW_URL"},
}

// forEachServer runs f as a subtest against each of s3Servers that is
// set, skipping (or failing, under CI=true) one that is not.
func forEachServer(t *testing.T, f func(t *testing.T, server string, u *url.URL)) {
	for _, sv := range s3Servers {
		t.Run(sv.name, func(t *testing.T) {
			u, err := url.Parse(testenv.URL(t, sv.env))
			if err != nil {
				t.Fatalf("%s: %v", sv.env, err)
			}
			f(t, sv.name, u)
		})
	}
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
