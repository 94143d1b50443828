package objstore

import (
	"bytes"
	"cmp"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// memStore is the least Store DownloadFile needs: Stat and pinned Gets of
// one object.
type memStore struct {
	Store
	data []byte

	mu   sync.Mutex
	gets []Range // the ranges read; the whole object as {0, size}
}

func (m *memStore) Stat(ctx context.Context, key string) (Attrs, error) {
	return Attrs{Key: key, Size: int64(len(m.data)), ETag: `"e"`}, nil
}

func (m *memStore) Get(ctx context.Context, key string, o *GetOptions) (*Reader, error) {
	off, n := int64(0), int64(len(m.data))
	if o.Range != nil {
		off, n = o.Range.Offset, o.Range.Length
	}
	m.mu.Lock()
	m.gets = append(m.gets, Range{Offset: off, Length: n})
	m.mu.Unlock()
	a, _ := m.Stat(ctx, key)
	return NewReader(nopCloser{bytes.NewReader(m.data[off : off+n])}, a, off, n), nil
}

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }

// TestDownloadFileNoSync checks that DownloadFile syncs the file and its
// directory by default, and neither with NoSync, which still renames a
// whole file into place.
func TestDownloadFileNoSync(t *testing.T) {
	var mu sync.Mutex
	var synced []string
	old := syncFile
	syncFile = func(f *os.File) error {
		mu.Lock()
		synced = append(synced, f.Name())
		mu.Unlock()
		return old(f)
	}
	t.Cleanup(func() { syncFile = old })
	data := bytes.Repeat([]byte("0123456789"), 1000)
	for _, noSync := range []bool{false, true} {
		synced = nil
		dir := t.TempDir()
		path := filepath.Join(dir, "out")
		_, err := DownloadFile(context.Background(), &memStore{data: data}, "k", path,
			&DownloadOptions{NoSync: noSync, ChunkSize: 1000, Threshold: -1})
		if err != nil {
			t.Fatal(err)
		}
		if b, err := os.ReadFile(path); err != nil || !bytes.Equal(b, data) {
			t.Fatalf("NoSync %v: the file holds %d bytes (%v), want the object's %d", noSync, len(b), err, len(data))
		}
		if names, _ := os.ReadDir(dir); len(names) != 1 {
			t.Errorf("NoSync %v: the directory holds %d entries, want only out", noSync, len(names))
		}
		switch {
		case noSync && len(synced) != 0:
			t.Errorf("NoSync: synced %q, want nothing", synced)
		case !noSync && (len(synced) != 2 || !strings.Contains(synced[0], ".out.objstore-") || filepath.Clean(synced[1]) != dir):
			t.Errorf("default: synced %q, want the temporary file, then %s", synced, dir)
		}
	}
}

// TestDownloadFileMeasuredRule checks the rule of the default Threshold:
// the first chunk is read alone, the next two at once, then the rest in
// chunks if two streams paid, else as one stream; an object of at most 3
// chunks is read with one Get; an explicit Threshold keeps the fixed rule.
func TestDownloadFileMeasuredRule(t *testing.T) {
	const chunk, size = 1 << 10, 5<<10 + 7
	data := bytes.Repeat([]byte("x"), size)
	old := parallelPays
	t.Cleanup(func() { parallelPays = old })
	chunks := []Range{{0, chunk}, {chunk, chunk}, {2 * chunk, chunk}, {3 * chunk, chunk}, {4 * chunk, chunk}, {5 * chunk, 7}}
	for _, tc := range []struct {
		name      string
		pays      bool
		threshold int64
		chunk     int64
		want      []Range
	}{
		{"one stream pays", false, 0, chunk, []Range{{0, chunk}, {chunk, chunk}, {2 * chunk, chunk}, {3 * chunk, size - 3*chunk}}},
		{"parallel pays", true, 0, chunk, chunks},
		{"explicit threshold", false, 2 << 10, chunk, chunks},
		{"object of 3 chunks", true, 0, size/3 + 1, []Range{{0, size/3 + 1}, {size/3 + 1, size - (size/3 + 1)}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var asked [][2]float64
			parallelPays = func(one, two float64) bool {
				asked = append(asked, [2]float64{one, two})
				return tc.pays
			}
			m := &memStore{data: data}
			opts := &DownloadOptions{ChunkSize: tc.chunk, Threshold: tc.threshold, Concurrency: 3}
			path := filepath.Join(t.TempDir(), "out")
			if _, err := DownloadFile(context.Background(), m, "k", path, opts); err != nil {
				t.Fatal(err)
			}
			if b, err := os.ReadFile(path); err != nil || !bytes.Equal(b, data) {
				t.Fatalf("the file holds %d bytes (%v), want the object's %d", len(b), err, len(data))
			}
			slices.SortFunc(m.gets, func(a, b Range) int { return cmp.Compare(a.Offset, b.Offset) })
			if !slices.Equal(m.gets, tc.want) {
				t.Errorf("read %v, want %v", m.gets, tc.want)
			}
			measured := tc.threshold == 0 && tc.chunk == chunk
			switch {
			case measured && (len(asked) != 1 || !(asked[0][0] > 0) || !(asked[0][1] > 0)):
				t.Errorf("parallelPays was asked %v, want once, with two positive rates", asked)
			case !measured && len(asked) != 0:
				t.Errorf("parallelPays was asked %v, want never", asked)
			}
		})
	}
}
