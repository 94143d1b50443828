package azure_test

import (
	"context"
	"fmt"
	"net"
	"testing"

	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/drivers/azure"
	"github.com/objstore-go/objstore/internal/testenv"
)

// TestProxyScenario runs the proxy scenario on Azurite, named by a host
// that does not resolve so that only the proxy can reach it.
func TestProxyScenario(t *testing.T) {
	endpoint := testenv.URL(t, "OBJSTORE_TEST_AZURITE_ENDPOINT")
	target := testenv.HostPort(t, endpoint)
	_, port, _ := net.SplitHostPort(target)
	const host = "objstore-azurite.invalid"
	testenv.ProxyScenario{Target: target, Host: host, RewriteHost: true,
		Open: func(ctx context.Context, extra string) (objstore.Store, error) {
			// A plain-http endpoint that is not loopback: the test opts in
			// to sending the key there, in code, as the policy requires.
			s, err := azure.Open(ctx, fmt.Sprintf("azblob://objstore-test/proxy-test/?endpoint=http://%s:%s/devstoreaccount1&account=devstoreaccount1&credential=AZURITE&retries=0%s", host, port, extra),
				&azure.Options{ClientOptions: &objstore.ClientOptions{AllowInsecureEndpoint: true}})
			if err != nil {
				return nil, err
			}
			return s, nil
		},
	}.Run(t)
}
