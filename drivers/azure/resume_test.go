package azure_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/drivers/azure"
	"github.com/objstore-go/objstore/internal/faultproxy"
)

// cutStores opens the store under test twice at one fresh prefix: once
// directly, once through a Cut proxy in front of Azurite, with opts.
func cutStores(t *testing.T, opts *azure.Options) (direct, proxied *azure.Store, p *faultproxy.Cut) {
	t.Helper()
	b := testBackend(t)
	// Shared key signs the path, so the Host header may be the server's.
	p = faultproxy.NewCut(t, b.endpoint, true)
	prefix := randomPrefix(t)
	raw := func(endpoint string) string {
		return fmt.Sprintf("azblob://%s/%s?endpoint=%s&account=%s&credential=%s",
			b.container, prefix, url.QueryEscape(endpoint), b.account, credName(t, b))
	}
	direct = open(t, raw(b.endpoint), nil)
	proxied = open(t, raw(p.URL()+mustPath(t, b.endpoint)), opts)
	return direct, proxied, p
}

// TestResumeAzurite cuts the body of a Get midway through a proxy in front
// of Azurite: see faultproxy.Resume for what it proves. It also reads a
// range from offset 0, which the driver sends without a Range header.
func TestResumeAzurite(t *testing.T) {
	direct, proxied, p := cutStores(t, nil)
	faultproxy.Resume{
		Proxied: proxied, Direct: direct, Proxy: p, Driver: azure.Scheme,
		RangeOf: func(h http.Header) string {
			if rg := h.Get("X-Ms-Range"); rg != "" {
				return rg
			}
			return h.Get("Range")
		},
		ExtraRanges: []*objstore.Range{{Offset: 0, Length: 5 << 20}},
	}.Run(t)
}

// TestIgnoredRangeAzurite plays, through a proxy in front of Azurite, a
// service that ignores the Range header, as Azure does one whose end
// overflowed: see faultproxy.IgnoredRange for what it proves.
func TestIgnoredRangeAzurite(t *testing.T) {
	direct, proxied, p := cutStores(t, nil)
	faultproxy.IgnoredRange{Proxied: proxied, Direct: direct, Proxy: p, Driver: azure.Scheme}.Run(t)
}

// TestIgnoredRangeStreamCopyAzurite breaks the download of a stream copy
// midway, through a proxy in front of Azurite that answers the resumption
// with the whole source instead of the rest of it: the copy must fail and
// leave no destination, never commit a mix of the two (rule G5).
func TestIgnoredRangeStreamCopyAzurite(t *testing.T) {
	direct, proxied, p := cutStores(t, &azure.Options{Copy: azure.CopyStream})
	src := make([]byte, 1000)
	rand.Read(src)
	ctx := t.Context()
	if _, err := direct.Put(ctx, "src", bytes.NewReader(src), nil); err != nil {
		t.Fatal(err)
	}
	p.Arm("src", 400, nil)
	p.IgnoreRange(true)
	_, err := proxied.Copy(ctx, "dst", "src", nil)
	var oe *objstore.Error
	if !errors.As(err, &oe) || oe.Kind != nil || !strings.Contains(err.Error(), `reading the source: azblob get "src"`) || !strings.Contains(err.Error(), "Range header was ignored") {
		t.Errorf("a stream copy whose resumption got the whole source: %v; want an *objstore.Error of no class that says the read of src got the whole object", err)
	}
	if n := p.Replaced(); n != 1 {
		t.Errorf("the proxy answered %d ranged GETs with the whole source; want 1, the resumption", n)
	}
	if _, err := direct.Stat(ctx, "dst"); !errors.Is(err, objstore.ErrNotFound) {
		got, _, _ := objstore.ReadAll(ctx, direct, "dst")
		t.Errorf("after the failed copy, Stat(dst) = %v; want ErrNotFound (dst holds %d bytes, equal to src: %v)", err, len(got), bytes.Equal(got, src))
	}
}

// mustPath returns the path of endpoint (the account, on Azurite).
func mustPath(t *testing.T, endpoint string) string {
	t.Helper()
	u, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	return u.Path
}
