package gocloud_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/fsouza/fake-gcs-server/fakestorage"
	"gocloud.dev/blob/gcsblob"
	"gocloud.dev/gcp"
	"google.golang.org/api/option"

	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/conformance"
	"github.com/objstore-go/objstore/drivers/gocloud"
)

// TestConformanceGCSBlob runs the suite over gcsblob against
// fake-gcs-server, in process: an httptest server on 127.0.0.1 speaking the
// GCS JSON API. The store is opened explicitly (gcsblob.OpenBucket with the
// server's endpoint and no authentication); STORAGE_EMULATOR_HOST is set
// too, because the cases that open URLs (the U rules, K1 and L5 with a
// missing bucket) go through gcsblob's URL opener, which finds an emulator
// only there.
func TestConformanceGCSBlob(t *testing.T) {
	// The storage client reads bodies through the XML API, GET
	// /BUCKET/OBJECT on the endpoint's host, which the fake serves only on
	// its PublicHost (by default storage.googleapis.com).
	srv, err := fakestorage.NewServerWithOptions(fakestorage.Options{Scheme: "http", Host: "127.0.0.1", PublicHost: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	const bucket = "objstore-test"
	srv.CreateBucket(bucket)
	u, err := url.Parse(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("STORAGE_EMULATOR_HOST", u.Host)

	b, err := gcsblob.OpenBucket(t.Context(), &gcp.HTTPClient{}, bucket, &gcsblob.Options{
		ClientOptions: []option.ClientOption{
			option.WithEndpoint(srv.URL() + "/storage/v1/"),
			option.WithoutAuthentication(),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	checkBridge(t, "gcsblob", conformance.Harness{
		URL: "gocloud+gs://" + bucket,
		Open: func(ctx context.Context, prefix string) (objstore.Store, error) {
			return gocloud.Wrap(b, &gocloud.Options{Driver: "gocloud+gs", Prefix: prefix, AtomicIfNotExist: true, KeyRules: &anyKeys})
		},
		OpenNative: func(ctx context.Context, prefix string) (objstore.Store, error) {
			return gocloud.Wrap(b, &gocloud.Options{Driver: "gocloud+gs", Prefix: prefix, AtomicIfNotExist: true, Keys: objstore.KeysNative, KeyRules: &anyKeys})
		},
		LargeSizes:  []int64{6<<20 + 3},
		LargePut:    objstore.PutOptions{PartSize: 4 << 20},
		SDKError:    sdkError,
		CaseTimeout: 2 * time.Minute,
	}, bridgeDeviations["gcsblob"])
}
