package s3

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/objstore-go/objstore"
)

// TestMissingBucketSettled checks that a 404 which does not say what is
// missing (a HEAD's, from a server without MinIO's X-Minio-Error-Code
// header, such as versitygw) is settled with one request about the bucket
// (a ListObjectsV2 of no keys): a missing bucket is ErrBucketNotFound,
// never ErrNotFound, and a missing key in a bucket that exists stays
// ErrNotFound. Each store sends at most one such request, however many
// operations miss, at once or one after another.
func TestMissingBucketSettled(t *testing.T) {
	const misses = 8
	forEachServer(t, func(t *testing.T, server string, u *url.URL) {
		ctx := t.Context()
		// statMisses runs misses Stats of missing keys at once and
		// returns their errors.
		statMisses := func(s *Store) []error {
			errs := make([]error, misses)
			var wg sync.WaitGroup
			for i := range misses {
				wg.Go(func() { _, errs[i] = s.Stat(ctx, fmt.Sprintf("missing-%d", i)) })
			}
			wg.Wait()
			return errs
		}
		// settled checks rec saw at most one bucket request, and exactly
		// one on a server that does not name the missing thing in a HEAD
		// response (all but MinIO).
		settled := func(t *testing.T, rec *recorder) {
			t.Helper()
			n := rec.count("ListObjectsV2")
			if n > 1 || server != "minio" && n != 1 {
				t.Errorf("the store sent %d ListObjectsV2; want at most one (exactly one on %s)", n, server)
			}
		}

		t.Run("missing bucket", func(t *testing.T) {
			s, rec := openServer(t, u, "objstore-missing-"+randomHex(6), nil)
			for i, err := range statMisses(s) {
				if !errors.Is(err, objstore.ErrBucketNotFound) || errors.Is(err, objstore.ErrNotFound) {
					t.Errorf("Stat %d: %v; want ErrBucketNotFound, not ErrNotFound", i, err)
				} else if !strings.Contains(err.Error(), s.b.bucket) {
					t.Errorf("Stat %d: %v does not name the bucket", i, err)
				}
			}
			_, err := s.Copy(ctx, "dst", "src", nil)
			if !errors.Is(err, objstore.ErrBucketNotFound) || errors.Is(err, objstore.ErrNotFound) {
				t.Errorf("Copy: %v; want ErrBucketNotFound, not ErrNotFound", err)
			}
			_, err = s.Get(ctx, "k", nil)
			if !errors.Is(err, objstore.ErrBucketNotFound) || errors.Is(err, objstore.ErrNotFound) {
				t.Errorf("Get: %v; want ErrBucketNotFound, not ErrNotFound", err)
			}
			_, err = s.Get(ctx, "k", &objstore.GetOptions{Range: &objstore.Range{Offset: 0, Length: 0}})
			if !errors.Is(err, objstore.ErrBucketNotFound) || errors.Is(err, objstore.ErrNotFound) {
				t.Errorf("Get of zero bytes: %v; want ErrBucketNotFound, not ErrNotFound", err)
			}
			settled(t, rec)
		})

		t.Run("missing key", func(t *testing.T) {
			s, rec := openServer(t, u, "", nil)
			for range 2 {
				for i, err := range statMisses(s) {
					if !errors.Is(err, objstore.ErrNotFound) || errors.Is(err, objstore.ErrBucketNotFound) {
						t.Errorf("Stat %d: %v; want ErrNotFound", i, err)
					}
				}
			}
			_, err := s.Copy(ctx, "dst", "src", nil)
			if !errors.Is(err, objstore.ErrNotFound) {
				t.Errorf("Copy of a missing src: %v; want ErrNotFound", err)
			}
			settled(t, rec)
		})

		t.Run("after a success", func(t *testing.T) {
			// An operation that succeeded proves the bucket exists: no
			// bucket request at all.
			s, rec := openServer(t, u, "", nil)
			if _, err := s.Put(ctx, "k", strings.NewReader("x"), nil); err != nil {
				t.Fatal(err)
			}
			for i, err := range statMisses(s) {
				if !errors.Is(err, objstore.ErrNotFound) || errors.Is(err, objstore.ErrBucketNotFound) {
					t.Errorf("Stat %d: %v; want ErrNotFound", i, err)
				}
			}
			if n := rec.count("ListObjectsV2"); n != 0 {
				t.Errorf("the store sent %d ListObjectsV2 after a Put succeeded", n)
			}
		})
	})
}

// TestObjectParentIsFile checks the answer of a server that keeps keys as
// files and directories (versitygw's posix backend) to an object that
// would be the directory of another, or the other way round: like the
// file driver's, ErrInvalidArgument with a hint. MinIO stores both.
func TestObjectParentIsFile(t *testing.T) {
	forEachServer(t, func(t *testing.T, server string, u *url.URL) {
		ctx := t.Context()
		s, _ := openServer(t, u, "", nil)
		put := func(key string) error {
			_, err := s.Put(ctx, key, strings.NewReader(key), nil)
			return err
		}
		for _, k := range []string{"file", "dir/child"} {
			if err := put(k); err != nil {
				t.Fatal(err)
			}
		}
		for _, tt := range []struct{ key, hint string }{
			{"file/child", "a prefix of this key"},
			{"dir", "objects exist under this key"},
		} {
			err := put(tt.key)
			if err == nil && server == "minio" {
				continue
			}
			if !errors.Is(err, objstore.ErrInvalidArgument) || !strings.Contains(err.Error(), tt.hint) {
				t.Errorf("Put(%q): %v; want ErrInvalidArgument saying %q", tt.key, err, tt.hint)
			}
		}
	})
}
