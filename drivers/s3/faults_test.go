package s3

import (
	"path"
	"strings"
	"testing"

	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/internal/faultproxy"
)

// TestFaultsS3 runs the fault matrix through a proxy in front of each S3 server:
// see faultproxy.Matrix for what it proves.
func TestFaultsS3(t *testing.T) { eachServer(t, testFaultsS3) }

func testFaultsS3(t *testing.T) {
	u := testURL(t)
	q := u.Query()
	endpoint := q.Get("endpoint")
	if endpoint == "" {
		t.Skipf("%s has no endpoint=; the proxy needs one to forward to", urlVar)
	}
	u.Path = "/" + path.Join(strings.Trim(u.Path, "/"), "objstore-s3-faults-"+randomHex(6))
	direct, err := OpenURL(t.Context(), u, nil)
	if err != nil {
		t.Fatalf("OpenURL: %v", err)
	}
	t.Cleanup(func() { cleanup(t, direct); direct.Close() })
	faultproxy.Matrix{
		Driver:   Scheme,
		Endpoint: endpoint,
		// The Host header stays the proxy's: SigV4 signed it.
		RewriteHost: false,
		Direct:      direct,
		Open: func(t *testing.T, proxyURL string, co *objstore.ClientOptions) objstore.Store {
			pu := *u
			pq := pu.Query()
			pq.Set("endpoint", proxyURL)
			pu.RawQuery = pq.Encode()
			// Copies of a part and an eighth are multipart, as CopyCommits says.
			s, err := OpenURL(t.Context(), &pu, &Options{ClientOptions: co, CopyThreshold: minPartSize, CopyPartSize: minPartSize})
			if err != nil {
				t.Fatalf("OpenURL through the proxy: %v", err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
		RequestID:    "Amz-Sdk-Invocation-Id",
		ListQuery:    "list-type",
		PartQuery:    "partNumber",
		CommitMethod: "POST",
		CommitQuery:  "uploadId",
		PartSize:     minPartSize,
		PendingUploads: func(t *testing.T, key string) int {
			return len(pendingUploads(t, direct, key))
		},
		CopyCommits: true,
	}.Run(t)
}
