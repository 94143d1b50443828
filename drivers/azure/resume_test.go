package azure_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/drivers/azure"
	"github.com/objstore-go/objstore/internal/faultproxy"
)

// TestResumeAzurite cuts the body of a Get midway through a proxy in front
// of Azurite: see faultproxy.Resume for what it proves. It also reads a
// range from offset 0, which the driver sends without a Range header.
func TestResumeAzurite(t *testing.T) {
	b := testBackend(t)
	// Shared key signs the path, so the Host header may be the server's.
	p := faultproxy.NewCut(t, b.endpoint, true)
	endpoint := p.URL() + mustPath(t, b.endpoint)
	prefix := randomPrefix(t)
	raw := func(endpoint string) string {
		return fmt.Sprintf("azblob://%s/%s?endpoint=%s&account=%s&credential=%s",
			b.container, prefix, url.QueryEscape(endpoint), b.account, credName(t, b))
	}
	direct := open(t, raw(b.endpoint), nil)
	proxied := open(t, raw(endpoint), nil)
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

// mustPath returns the path of endpoint (the account, on Azurite).
func mustPath(t *testing.T, endpoint string) string {
	t.Helper()
	u, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	return u.Path
}

// TestIgnoredRangeAzurite plays, through a proxy in front of Azurite, a
// service that ignores the Range header, as Azure does one whose end
// overflowed: see faultproxy.IgnoredRange for what it proves.
func TestIgnoredRangeAzurite(t *testing.T) {
	b := testBackend(t)
	p := faultproxy.NewCut(t, b.endpoint, true)
	prefix := randomPrefix(t)
	raw := func(endpoint string) string {
		return fmt.Sprintf("azblob://%s/%s?endpoint=%s&account=%s&credential=%s",
			b.container, prefix, url.QueryEscape(endpoint), b.account, credName(t, b))
	}
	direct := open(t, raw(b.endpoint), nil)
	proxied := open(t, raw(p.URL()+mustPath(t, b.endpoint)), nil)
	faultproxy.IgnoredRange{Proxied: proxied, Direct: direct, Proxy: p, Driver: azure.Scheme}.Run(t)
}
