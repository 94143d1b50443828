package s3

import (
	"net/http"
	"path"
	"strings"
	"testing"

	"github.com/objstore-go/objstore/internal/faultproxy"
)

// resumeStores opens the store under test twice at one fresh prefix: once
// through a cutProxy, once directly.
func resumeStores(t *testing.T) (proxied, direct *Store, p *faultproxy.Cut) {
	t.Helper()
	u := testURL(t)
	q := u.Query()
	endpoint := q.Get("endpoint")
	if endpoint == "" {
		t.Skipf("%s has no endpoint=; the proxy needs one to forward to", urlVar)
	}
	// The Host header stays the proxy's: SigV4 signed it.
	p = faultproxy.NewCut(t, endpoint, false)
	u.Path = "/" + path.Join(strings.Trim(u.Path, "/"), "objstore-s3-resume-"+randomHex(6))
	direct, err := OpenURL(t.Context(), u, nil)
	if err != nil {
		t.Fatalf("OpenURL: %v", err)
	}
	t.Cleanup(func() { cleanup(t, direct); direct.Close() })
	q.Set("endpoint", p.URL())
	u.RawQuery = q.Encode()
	proxied, err = OpenURL(t.Context(), u, nil)
	if err != nil {
		t.Fatalf("OpenURL through the proxy: %v", err)
	}
	t.Cleanup(func() { proxied.Close() })
	return proxied, direct, p
}

// TestResumeS3 cuts the body of a Get midway through a proxy in front of
// each S3 server: see faultproxy.Resume for what it proves.
func TestResumeS3(t *testing.T) { eachServer(t, testResumeS3) }

func testResumeS3(t *testing.T) {
	proxied, direct, p := resumeStores(t)
	faultproxy.Resume{
		Proxied: proxied, Direct: direct, Proxy: p, Driver: Scheme,
		RangeOf: func(h http.Header) string { return h.Get("Range") },
	}.Run(t)
}

// TestIgnoredRangeS3 plays, through a proxy in front of MinIO, a server
// that ignores the Range header: see faultproxy.IgnoredRange for what it
// proves.
func TestIgnoredRangeS3(t *testing.T) {
	proxied, direct, p := resumeStores(t)
	faultproxy.IgnoredRange{Proxied: proxied, Direct: direct, Proxy: p, Driver: Scheme}.Run(t)
}
