package file_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/objstore-go/objstore"
)

// BenchmarkListFlat lists a flat directory of n files in pages of the
// default 1000 entries: the case where a listing that read its
// directories again for every page would cost n/1000 reads of n entries.
func BenchmarkListFlat(b *testing.B) {
	for _, n := range []int{10000, 50000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			dir := b.TempDir()
			for i := range n {
				if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("k%07d", i)), nil, 0o666); err != nil {
					b.Fatal(err)
				}
			}
			s, err := objstore.Open(b.Context(), fileURL(dir, ""))
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				got := 0
				for _, err := range s.List(b.Context(), nil) {
					if err != nil {
						b.Fatal(err)
					}
					got++
				}
				if got != n {
					b.Fatalf("listed %d of %d", got, n)
				}
			}
		})
	}
}
