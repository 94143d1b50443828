package azure_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"path"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/conformance"
	_ "github.com/objstore-go/objstore/drivers/azure"
	"github.com/objstore-go/objstore/internal/faultproxy"
	"github.com/objstore-go/objstore/internal/testenv"
)

const azureURLVar = "OBJSTORE_TEST_AZURE_URL"

// withParams returns rawURL with the query parameters kv (name, value,
// name, value...) set.
func withParams(t testing.TB, rawURL string, kv ...string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatalf("parsing %s: %v", azureURLVar, err)
	}
	q := u.Query()
	for i := 0; i+1 < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// harness is the conformance harness for the store at rawURL: the whole
// contract required, large puts in 4 MiB blocks three at a time so that P7
// and C6 stage several blocks.
func harness(rawURL string) conformance.Harness {
	return conformance.Harness{
		URL:        rawURL,
		RequireAll: true,
		LargePut:   objstore.PutOptions{PartSize: 4 << 20, Concurrency: 3},
		SDKError: func(err error) bool {
			var e *azcore.ResponseError
			return errors.As(err, &e)
		},
	}
}

// TestConformance runs the suite with each copy strategy forced. The auto
// strategy runs in TestNoStdout.
func TestConformance(t *testing.T) {
	base := testenv.URL(t, azureURLVar)
	t.Run("copy=stream", func(t *testing.T) {
		// Small blocks for the stream copy too, so that C6 stages blocks.
		raw := withParams(t, base, "copy", "stream", "block_size", "4MiB", "concurrency", "3")
		h := harness(raw)
		h.LoseAnswer = loseAnswer(t, raw)
		conformance.Run(t, h)
	})
	t.Run("copy=server", func(t *testing.T) {
		conformance.Run(t, harness(withParams(t, base, "copy", "server")))
	})
}

// loseAnswer is the Harness.LoseAnswer of the store at raw: stores opened
// through a fault proxy in front of its endpoint, which drops the answer
// to a key's next Put Block List. Without an endpoint there is no proxy,
// and it is nil.
func loseAnswer(t *testing.T, raw string) func(context.Context, string) (objstore.Store, func(string), error) {
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	endpoint, err := url.Parse(q.Get("endpoint"))
	if err != nil || q.Get("endpoint") == "" {
		return nil
	}
	// Shared key signs the path, so the Host header may be the server's.
	p := faultproxy.NewFaults(t, endpoint.String(), true)
	q.Set("endpoint", p.URL()+endpoint.Path)
	u.RawQuery = q.Encode()
	return func(ctx context.Context, prefix string) (objstore.Store, func(string), error) {
		pu := *u
		pu.Path = "/" + path.Join(strings.Trim(pu.Path, "/"), prefix)
		s, err := objstore.Open(ctx, pu.String())
		if err != nil {
			return nil, nil, err
		}
		return s, func(key string) {
			p.Arm(faultproxy.Fault{Kind: faultproxy.Drop, Method: http.MethodPut, Query: "comp=blocklist", PathSuffix: "/" + key, Times: 1})
		}, nil
	}
}
