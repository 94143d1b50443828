package gocloud_test

import (
	"net/url"
	"os"
	"testing"
	"time"

	_ "gocloud.dev/blob/azureblob"
	_ "gocloud.dev/blob/s3blob"

	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/conformance"
	"github.com/objstore-go/objstore/internal/testenv"
)

func TestConformanceS3blob(t *testing.T) {
	raw := testenv.URL(t, "OBJSTORE_TEST_S3_URL")
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	gq := url.Values{"region": {q.Get("region")}, "endpoint": {q.Get("endpoint")}, "use_path_style": {"true"}}
	checkBridge(t, "s3blob", conformance.Harness{
		URL:        "gocloud+s3://" + u.Host + "?" + gq.Encode(),
		LargeSizes: []int64{6<<20 + 3},
		// Multipart, so that IfAbsent is checked at completion: a single
		// PUT refused with 412 before its body is sent comes back from
		// the SDK as a reset connection.
		LargePut:    objstore.PutOptions{PartSize: 5 << 20},
		SDKError:    sdkError,
		CaseTimeout: 2 * time.Minute,
	}, bridgeDeviations["s3blob"])
}

func TestConformanceAzureblob(t *testing.T) {
	raw := testenv.URL(t, "OBJSTORE_TEST_AZURE_URL")
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	ep, err := url.Parse(u.Query().Get("endpoint"))
	if err != nil {
		t.Fatal(err)
	}
	// gocloud's azureblob reads the account and key from the environment.
	t.Setenv("AZURE_STORAGE_ACCOUNT", "devstoreaccount1")
	t.Setenv("AZURE_STORAGE_KEY", os.Getenv("AZSTORE_AZURITE_KEY"))
	gq := url.Values{"protocol": {"http"}, "domain": {ep.Host}, "localemu": {"true"}}
	checkBridge(t, "azureblob", conformance.Harness{
		URL:         "gocloud+azblob://" + u.Host + "?" + gq.Encode(),
		LargeSizes:  []int64{6<<20 + 3},
		SDKError:    sdkError,
		CaseTimeout: 2 * time.Minute,
	}, bridgeDeviations["azureblob"])
}
