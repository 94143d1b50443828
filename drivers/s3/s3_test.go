package s3_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"path"
	"strings"
	"testing"

	"github.com/aws/smithy-go"

	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/conformance"
	"github.com/objstore-go/objstore/drivers/s3"
	"github.com/objstore-go/objstore/internal/faultproxy"
	"github.com/objstore-go/objstore/internal/testenv"
)

// urlVar names the variable that points the benchmarks at MinIO; `make
// test` starts it and sets the variable, with AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY. The tests run on every server in
// testenv.S3Servers.
const urlVar = "OBJSTORE_TEST_S3_URL"

// largePut makes P7 and C6 write many small parts.
var largePut = objstore.PutOptions{PartSize: 5 << 20, Concurrency: 3}

func sdkError(err error) bool {
	var e smithy.APIError
	return errors.As(err, &e)
}

// TestConformance runs the suite on each S3 server `make test` starts
// (testenv.S3Servers), with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.
func TestConformance(t *testing.T) {
	testenv.EachS3(t, func(t *testing.T, _ testenv.S3Server, raw string) {
		conformance.Run(t, conformance.Harness{
			URL:        raw,
			RequireAll: true,
			LargePut:   largePut,
			SDKError:   sdkError,
			LoseAnswer: loseAnswer(t, raw),
		})
	})
}

// loseAnswer is the Harness.LoseAnswer of the store at raw: stores opened
// through a fault proxy in front of its endpoint, which drops the answer
// to a key's next CompleteMultipartUpload. Without an endpoint (AWS) there
// is no proxy, and it is nil.
func loseAnswer(t *testing.T, raw string) func(context.Context, string) (objstore.Store, func(string), error) {
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if q.Get("endpoint") == "" {
		return nil
	}
	p := faultproxy.NewFaults(t, q.Get("endpoint"), false)
	q.Set("endpoint", p.URL())
	u.RawQuery = q.Encode()
	proxied := u.String()
	return func(ctx context.Context, prefix string) (objstore.Store, func(string), error) {
		s, err := openWith(ctx, proxied, prefix, nil)
		if err != nil {
			return nil, nil, err
		}
		return s, func(key string) {
			p.Arm(faultproxy.Fault{Kind: faultproxy.Drop, Method: http.MethodPost, Query: "uploadId", PathSuffix: "/" + key, Times: 1})
		}, nil
	}
}

// TestConformanceCopyParts runs the suite with the copy threshold lowered
// to 5 MiB, so that C6's large copies go through UploadPartCopy parts
// (three of them for the default 12 MiB + 3 bytes).
func TestConformanceCopyParts(t *testing.T) {
	testenv.EachS3(t, func(t *testing.T, _ testenv.S3Server, raw string) {
		conformance.Run(t, conformance.Harness{
			URL: raw,
			Open: func(ctx context.Context, prefix string) (objstore.Store, error) {
				return openWith(ctx, raw, prefix, &s3.Options{CopyThreshold: 5 << 20, CopyPartSize: 5 << 20})
			},
			OpenNative: func(ctx context.Context, prefix string) (objstore.Store, error) {
				return openWith(ctx, raw, prefix, &s3.Options{CopyThreshold: 5 << 20, CopyPartSize: 5 << 20, Keys: objstore.KeysNative})
			},
			RequireAll: true,
			LargePut:   largePut,
			SDKError:   sdkError,
		})
	})
}

// openWith opens raw with prefix joined to its path, and opts.
func openWith(ctx context.Context, raw, prefix string, opts *s3.Options) (*s3.Store, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	if prefix != "" {
		u.Path = "/" + path.Join(strings.Trim(u.Path, "/"), prefix)
		u.RawPath = ""
	}
	return s3.OpenURL(ctx, u, opts)
}
