package azure_test

import (
	"context"
	"fmt"
	"net/url"
	"testing"

	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/drivers/azure"
	"github.com/objstore-go/objstore/internal/faultproxy"
)

// TestFaultsAzurite runs the fault matrix through a proxy in front of
// Azurite: see faultproxy.Matrix for what it proves.
func TestFaultsAzurite(t *testing.T) {
	b := testBackend(t)
	prefix := randomPrefix(t)
	raw := func(endpoint string) string {
		return fmt.Sprintf("azblob://%s/%s?endpoint=%s&account=%s&credential=%s",
			b.container, prefix, url.QueryEscape(endpoint), b.account, credName(t, b))
	}
	direct := open(t, raw(b.endpoint), nil)
	accountPath := mustPath(t, b.endpoint)
	faultproxy.Matrix{
		Driver:   azure.Scheme,
		Endpoint: b.endpoint,
		// Shared key signs the path, so the Host header may be the server's.
		RewriteHost: true,
		Direct:      direct,
		Open: func(t *testing.T, proxyURL string, co *objstore.ClientOptions) objstore.Store {
			s, err := azure.Open(context.Background(), raw(proxyURL+accountPath), &azure.Options{ClientOptions: co})
			if err != nil {
				t.Fatalf("Open through the proxy: %v", err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
		OpenStreamCopy: func(t *testing.T, proxyURL string, co *objstore.ClientOptions) objstore.Store {
			s, err := azure.Open(context.Background(), raw(proxyURL+accountPath)+"&copy=stream", &azure.Options{ClientOptions: co})
			if err != nil {
				t.Fatalf("Open through the proxy: %v", err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
		RequestID:    "X-Ms-Client-Request-Id",
		ListQuery:    "comp=list",
		PartQuery:    "comp=block",
		CommitMethod: "PUT",
		CommitQuery:  "comp=blocklist",
		PartSize:     64 << 10,
		// The store copies with Copy Blob (copy=auto), one PUT.
		CopyIsPut: true,
	}.Run(t)
}
