package file_test

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/objstore-go/objstore/conformance"
	_ "github.com/objstore-go/objstore/drivers/file"
)

// fileURL returns the file:// URL of dir with the query q.
func fileURL(dir, q string) string {
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(dir), RawQuery: q}
	return u.String()
}

// TestConformance runs the whole suite in a temporary directory. The
// suite joins its prefixes to the URL's path; create=true makes the
// directories they name empty stores until written, which is how a URL
// path acts as a key prefix (U3). The missing bucket is a directory that
// does not exist, opened without create.
//
// The suite deletes what it wrote; after that no file may be left: no
// temporary file, sidecar or bookkeeping directory. (Each case's store
// root, made by create=true, stays as an empty directory: a store never
// removes its own root.)
func TestConformance(t *testing.T) {
	dir := t.TempDir()
	t.Cleanup(func() { // runs after the suite's own cleanup
		var left []string
		for _, p := range files(t, dir) {
			fi, err := os.Lstat(filepath.Join(dir, p))
			if err != nil || !fi.IsDir() || strings.HasSuffix(p, ".objstore.") {
				left = append(left, p)
			}
		}
		if len(left) != 0 {
			t.Errorf("after the suite deleted its objects, the directory holds %q", left)
		}
	})
	conformance.Run(t, conformance.Harness{
		URL:              fileURL(dir, "create=true"),
		MissingBucketURL: fileURL(filepath.Join(dir, "missing"), ""),
		RequireAll:       true,
	})
}
