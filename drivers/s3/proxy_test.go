package s3_test

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"testing"

	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/drivers/s3"
	"github.com/objstore-go/objstore/internal/testenv"
)

// TestProxy runs the proxy scenario on each S3 server, named by a host
// that does not resolve so that only the proxy can reach it.
func TestProxy(t *testing.T) {
	testenv.EachS3(t, func(t *testing.T, srv testenv.S3Server, _ string) {
		endpoint := testenv.URL(t, srv.EndpointVar)
		target := testenv.HostPort(t, endpoint)
		_, port, _ := net.SplitHostPort(target)
		host := "objstore-" + srv.Name + ".invalid"
		testenv.ProxyScenario{Target: target, Host: host,
			Open: func(ctx context.Context, extra string) (objstore.Store, error) {
				u, err := url.Parse(fmt.Sprintf("s3://objstore-test/proxy-test/?endpoint=http://%s:%s&region=us-east-1&use_path_style=true&retries=0%s", host, port, extra))
				if err != nil {
					return nil, err
				}
				// A plain-http endpoint that is not loopback: the test opts
				// in to sending signatures there, in code, as the policy
				// requires.
				s, err := s3.OpenURL(ctx, u, &s3.Options{ClientOptions: &objstore.ClientOptions{AllowInsecureEndpoint: true}})
				if err != nil {
					return nil, err
				}
				return s, nil
			},
		}.Run(t)
	})
}
