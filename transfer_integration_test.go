package objstore_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/objstore-go/objstore"
	_ "github.com/objstore-go/objstore/drivers/azure"
	_ "github.com/objstore-go/objstore/drivers/s3"
	"github.com/objstore-go/objstore/internal/testenv"
)

// transferBackends are the servers `make test` starts, by the variable
// naming each one's URL.
var transferBackends = []struct{ name, env string }{
	{"s3", "OBJSTORE_TEST_S3_URL"},
	{"azure", "OBJSTORE_TEST_AZURE_URL"},
}

func openBackend(t *testing.T, env string) (objstore.Store, string) {
	t.Helper()
	s, err := objstore.Open(context.Background(), testenv.URL(t, env))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	prefix := fmt.Sprintf("transfer-test/%d/", time.Now().UnixNano())
	return s, prefix
}

func sha256File(t testing.TB, path string) [32]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return [32]byte(h.Sum(nil))
}

// TestTransferRoundTrip uploads 20 MiB + 3 bytes in parts and downloads it
// with parallel ranged reads, on each real backend.
func TestTransferRoundTrip(t *testing.T) {
	for _, b := range transferBackends {
		t.Run(b.name, func(t *testing.T) {
			s, prefix := openBackend(t, b.env)
			ctx := context.Background()
			key := prefix + "big.bin"
			t.Cleanup(func() { s.Delete(context.Background(), key) })

			data := randomBytes(20<<20+3, 11)
			src := writeFile(t, data)
			up := &progressLog{t: t}
			a, err := objstore.UploadFile(ctx, s, key, src, &objstore.UploadOptions{
				PutOptions: objstore.PutOptions{ContentType: "application/x-test", PartSize: 5 << 20, Concurrency: 3, IfAbsent: true},
				Progress:   up.fn,
			})
			if err != nil {
				t.Fatal(err)
			}
			up.checkFinal(int64(len(data)))
			if a.Size != int64(len(data)) {
				t.Errorf("UploadFile returned Size %d, want %d", a.Size, len(data))
			}
			if _, err := objstore.UploadFile(ctx, s, key, src, &objstore.UploadOptions{PutOptions: objstore.PutOptions{IfAbsent: true, PartSize: 5 << 20}}); !errors.Is(err, objstore.ErrExists) {
				t.Errorf("a second IfAbsent UploadFile = %v, want ErrExists", err)
			}

			dst := filepath.Join(t.TempDir(), "big.bin")
			down := &progressLog{t: t}
			gets := &getLog{Store: s}
			d, err := objstore.DownloadFile(ctx, gets, key, dst, &objstore.DownloadOptions{
				ChunkSize: 3 << 20, Threshold: -1, Concurrency: 4, Progress: down.fn,
			})
			if err != nil {
				t.Fatal(err)
			}
			down.checkFinal(int64(len(data)))
			if want := sha256.Sum256(data); sha256File(t, dst) != want {
				t.Errorf("the downloaded file's sha256 differs from the uploaded data's")
			}
			if d.ETag != a.ETag || d.Size != a.Size || d.ContentType != "application/x-test" {
				t.Errorf("DownloadFile returned %+v, want the uploaded object %+v", d, a)
			}
			if len(gets.gets) != 7 || gets.maxOpen > 4 {
				t.Errorf("%d Gets, at most %d open at once; want 7 ranged Gets, at most 4 at once", len(gets.gets), gets.maxOpen)
			}
		})
	}
}

// TestTransferObjectChanges checks on each real backend that the ranged
// reads are pinned: an object overwritten during the download makes
// DownloadFile start over and end with the new version, never a mix.
func TestTransferObjectChanges(t *testing.T) {
	for _, b := range transferBackends {
		t.Run(b.name, func(t *testing.T) {
			s, prefix := openBackend(t, b.env)
			ctx := context.Background()
			key := prefix + "changing.bin"
			t.Cleanup(func() { s.Delete(context.Background(), key) })
			putObject(t, s, key, randomBytes(1<<20, 12))

			w := &overwriter{Store: s, t: t, n: 1}
			dst := filepath.Join(t.TempDir(), "out")
			attrs, err := objstore.DownloadFile(ctx, w, key, dst,
				&objstore.DownloadOptions{ChunkSize: 128 << 10, Threshold: -1, Concurrency: 2})
			if err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(dst)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, w.last) {
				t.Errorf("the file holds %d bytes that are not the new version's %d", len(got), len(w.last))
			}
			if attrs.Size != int64(len(w.last)) {
				t.Errorf("DownloadFile returned Size %d, want the new version's %d", attrs.Size, len(w.last))
			}
		})
	}
}
