package objstore_test

import (
	"context"
	"io"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/drivers/memory"
)

// BenchmarkDownloadFile compares DownloadFile of a 64 MiB object from the
// memory driver, single-stream and parallel, with the baseline of io.Copy
// from one Get into a file that is then synced. B/op is the memory each
// way allocates: the parallel path's buffers are bounded by Concurrency ×
// min(ChunkSize, 1 MiB).
func BenchmarkDownloadFile(b *testing.B) {
	const size = 64 << 20
	ctx := context.Background()
	s := memory.New()
	putObject(b, s, "big", randomBytes(size, 1))
	dir := b.TempDir()
	path := filepath.Join(dir, "out")

	b.Run("baseline=GetCopySync", func(b *testing.B) {
		b.SetBytes(size)
		b.ReportAllocs()
		for b.Loop() {
			r, err := s.Get(ctx, "big", nil)
			if err != nil {
				b.Fatal(err)
			}
			f, err := os.Create(path)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.Copy(f, r); err != nil {
				b.Fatal(err)
			}
			r.Close()
			if err := f.Sync(); err != nil {
				b.Fatal(err)
			}
			f.Close()
		}
	})
	for _, bc := range []struct {
		name string
		opts objstore.DownloadOptions
	}{
		{"single", objstore.DownloadOptions{Threshold: math.MaxInt64}},
		{"parallel=4x8MiB", objstore.DownloadOptions{Threshold: -1}},
		{"default", objstore.DownloadOptions{}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := objstore.DownloadFile(ctx, s, "big", path, &bc.opts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
