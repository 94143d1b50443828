package objstore

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// memStore is the least Store DownloadFile needs: Stat and pinned Gets of
// one object.
type memStore struct {
	Store
	data []byte
}

func (m *memStore) Stat(ctx context.Context, key string) (Attrs, error) {
	return Attrs{Key: key, Size: int64(len(m.data)), ETag: `"e"`}, nil
}

func (m *memStore) Get(ctx context.Context, key string, o *GetOptions) (*Reader, error) {
	off, n := int64(0), int64(len(m.data))
	if o.Range != nil {
		off, n = o.Range.Offset, o.Range.Length
	}
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
