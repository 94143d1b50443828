package objstore_test

import (
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/drivers/memory"
)

func TestReaderServesExactlyLength(t *testing.T) {
	r := objstore.NewReader(io.NopCloser(strings.NewReader("hello world")), objstore.Attrs{Size: 11}, 0, 5)
	got, err := io.ReadAll(r)
	if string(got) != "hello" || err != nil {
		t.Errorf("ReadAll = %q, %v; want hello", got, err)
	}
	short := objstore.NewReader(io.NopCloser(strings.NewReader("hel")), objstore.Attrs{Size: 11}, 0, 5)
	if _, err := io.ReadAll(short); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("a short body gave %v, want io.ErrUnexpectedEOF", err)
	}
	r.Close()
	if err := r.Close(); err != nil {
		t.Errorf("a second Close: %v", err)
	}
	if _, err := r.Read(make([]byte, 1)); err == nil {
		t.Error("Read after Close succeeded")
	}
}

func TestHelpers(t *testing.T) {
	ctx := context.Background()
	s := memory.New()
	created, err := objstore.PutIfAbsent(ctx, s, "k", strings.NewReader("one"), &objstore.PutOptions{ContentType: "text/plain"})
	if !created || err != nil {
		t.Fatalf("PutIfAbsent = %v, %v", created, err)
	}
	if created, err := objstore.PutIfAbsent(ctx, s, "k", strings.NewReader("two"), nil); created || err != nil {
		t.Fatalf("PutIfAbsent over an existing key = %v, %v", created, err)
	}
	if _, err := objstore.PutIfAbsent(ctx, s, "k", strings.NewReader("x"), &objstore.PutOptions{IfMatch: `"1"`}); !errors.Is(err, objstore.ErrInvalidArgument) {
		t.Fatalf("PutIfAbsent with IfMatch: %v", err)
	}
	data, attrs, err := objstore.ReadAll(ctx, s, "k")
	if string(data) != "one" || attrs.ContentType != "text/plain" || err != nil {
		t.Fatalf("ReadAll = %q, %+v, %v", data, attrs, err)
	}
	if _, _, err := objstore.ReadAll(ctx, s, "missing"); !errors.Is(err, objstore.ErrNotFound) {
		t.Fatalf("ReadAll of a missing key: %v", err)
	}
}

// trickle serves its bytes at most 16 KiB per Read, as a socket does.
type trickle struct{ r io.Reader }

func (t trickle) Read(p []byte) (int, error) { return t.r.Read(p[:min(len(p), 16<<10)]) }

// writeLog records the size of every Write.
type writeLog struct {
	sizes []int
	total int
}

func (w *writeLog) Write(p []byte) (int, error) {
	w.sizes = append(w.sizes, len(p))
	w.total += len(p)
	return len(p), nil
}

// TestReaderWriteTo checks that io.Copy from a Reader writes in chunks of
// a MiB, filled from many small body reads, not in io.Copy's 32 KiB, and
// that WriteTo keeps Read's checks: exactly Length bytes, a short body an
// io.ErrUnexpectedEOF.
func TestReaderWriteTo(t *testing.T) {
	const size = 3<<20 + 5
	body := strings.Repeat("x", size+100)
	r := objstore.NewReader(io.NopCloser(trickle{strings.NewReader(body)}), objstore.Attrs{Size: size + 100}, 0, size)
	w := &writeLog{}
	n, err := io.Copy(w, r)
	if err != nil || n != size || w.total != size {
		t.Fatalf("io.Copy = %d, %v (wrote %d); want %d, nil", n, err, w.total, size)
	}
	want := []int{1 << 20, 1 << 20, 1 << 20, 5}
	if !slices.Equal(w.sizes, want) {
		t.Errorf("io.Copy wrote %v bytes at a time, want %v", w.sizes, want)
	}
	if n, err := io.Copy(w, r); n != 0 || err != nil {
		t.Errorf("io.Copy at the end = %d, %v; want 0, nil", n, err)
	}

	small := objstore.NewReader(io.NopCloser(strings.NewReader("hello")), objstore.Attrs{Size: 5}, 0, 5)
	w = &writeLog{}
	if n, err := io.Copy(w, small); n != 5 || err != nil || !slices.Equal(w.sizes, []int{5}) {
		t.Errorf("io.Copy of 5 bytes = %d, %v, writes %v; want one write of 5", n, err, w.sizes)
	}

	short := objstore.NewReader(io.NopCloser(strings.NewReader("hel")), objstore.Attrs{Size: 11}, 0, 5)
	w = &writeLog{}
	if n, err := io.Copy(w, short); n != 3 || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("io.Copy of a short body = %d, %v; want 3, io.ErrUnexpectedEOF", n, err)
	}
	short.Close()
	if _, err := io.Copy(w, short); err == nil {
		t.Error("io.Copy after Close succeeded")
	}
}
