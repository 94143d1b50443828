package objstore_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/driver"
)

func TestReaderAtBody(t *testing.T) {
	read := bytes.NewReader([]byte("0123456789"))
	read.Read(make([]byte, 3))
	seeked := io.NewSectionReader(strings.NewReader("0123456789"), 0, 10)
	seeked.Seek(4, io.SeekStart)
	f, err := os.Open(writeFile(t, []byte("0123456789")))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tests := []struct {
		name string
		body io.Reader
		size int64 // -1: not read in parallel
	}{
		{"*io.SectionReader", io.NewSectionReader(strings.NewReader("0123456789"), 2, 5), 5},
		{"*bytes.Reader", bytes.NewReader([]byte("0123456789")), 10},
		{"*strings.Reader", strings.NewReader("01234"), 5},
		{"empty *bytes.Reader", bytes.NewReader(nil), 0},
		{"*bytes.Reader read from", read, -1},
		{"*io.SectionReader seeked", seeked, -1},
		{"*os.File, which has no Size", f, -1},
		{"*bytes.Buffer, which has no ReadAt", bytes.NewBufferString("0123"), -1},
		{"a plain reader", struct{ io.Reader }{strings.NewReader("x")}, -1},
	}
	for _, tt := range tests {
		r, size, ok := driver.ReaderAtBody(tt.body)
		switch {
		case tt.size < 0 && ok:
			t.Errorf("%s: ReaderAtBody accepted it (size %d)", tt.name, size)
		case tt.size >= 0 && (!ok || size != tt.size || r == nil):
			t.Errorf("%s: ReaderAtBody = %v, %d, %v; want the body and size %d", tt.name, r, size, ok, tt.size)
		}
	}
	// Asking does not move the body.
	b := bytes.NewReader([]byte("abc"))
	driver.ReaderAtBody(b)
	if got, _ := io.ReadAll(b); string(got) != "abc" {
		t.Errorf("after ReaderAtBody the body reads %q, want %q", got, "abc")
	}
}

// partsBucket is a driver whose Put reports its parts' progress from many
// goroutines at once, as uploads of parts completing together do.
type partsBucket struct {
	badBucket
	parts, part int64
}

func (b *partsBucket) Put(_ context.Context, key string, body io.Reader, r driver.PutRequest) (driver.Attrs, error) {
	r.Progress.Start(b.parts * b.part)
	var wg sync.WaitGroup
	for range b.parts {
		wg.Go(func() { r.Progress.Add(b.part) })
	}
	wg.Wait()
	return driver.Attrs{Key: key, Size: b.parts * b.part, ETag: `"1"`}, nil
}

// TestProgressConcurrent: a driver adds from many goroutines, as parts
// completing at once do; the caller's calls never overlap, done never
// decreases, and there is at most one per MiB besides the first and the
// last (rule P8).
func TestProgressConcurrent(t *testing.T) {
	b := &partsBucket{parts: 64, part: 300 << 10}
	s, err := objstore.NewStore(b, "")
	if err != nil {
		t.Fatal(err)
	}
	log := &progressLog{t: t}
	if _, err := s.Put(t.Context(), "k", strings.NewReader("x"), &objstore.PutOptions{Progress: log.fn}); err != nil {
		t.Fatal(err)
	}
	log.checkFinal(b.parts * b.part)
}
