package ctxio_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/objstore-go/objstore/internal/ctxio"
)

func TestReaderStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	r := &ctxio.Reader{Ctx: ctx, R: strings.NewReader("hello world")}
	buf := make([]byte, 5)
	if n, err := r.Read(buf); n != 5 || err != nil {
		t.Fatalf("Read = %d, %v", n, err)
	}
	cancel()
	if _, err := io.ReadAll(r); !errors.Is(err, context.Canceled) {
		t.Fatalf("Read after cancel: %v, want context.Canceled", err)
	}
}

func TestReadSeekerStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	r := &ctxio.ReadSeeker{Ctx: ctx, R: strings.NewReader("hello world")}
	if b, err := io.ReadAll(r); string(b) != "hello world" || err != nil {
		t.Fatalf("ReadAll = %q, %v", b, err)
	}
	if pos, err := r.Seek(6, io.SeekStart); pos != 6 || err != nil {
		t.Fatalf("Seek = %d, %v", pos, err)
	}
	cancel()
	if _, err := io.ReadAll(r); !errors.Is(err, context.Canceled) {
		t.Fatalf("Read after cancel: %v, want context.Canceled", err)
	}
}

// TestBytes checks Bytes as a request body: it reads, seeks and writes
// itself whole, io.Copy uses its WriteTo (no buffer of its own), and both
// stop once the context is done.
func TestBytes(t *testing.T) {
	data := make([]byte, 3*writeChunkForTest+5)
	for i := range data {
		data[i] = byte(i)
	}
	b := &ctxio.Bytes{Ctx: context.Background(), B: data}
	got, err := io.ReadAll(b)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("ReadAll = %d bytes, %v", len(got), err)
	}
	if pos, err := b.Seek(-5, io.SeekEnd); err != nil || pos != int64(len(data)-5) || b.Len() != 5 {
		t.Fatalf("Seek(-5, End) = %d, %v; Len %d", pos, err, b.Len())
	}
	if _, err := b.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	var w writes
	if n, err := io.Copy(&w, b); err != nil || n != int64(len(data)) || !bytes.Equal(w.buf.Bytes(), data) {
		t.Fatalf("io.Copy = %d, %v", n, err)
	}
	if w.n != 4 {
		t.Errorf("io.Copy made %d writes; want 4 of at most 256 KiB, from WriteTo", w.n)
	}

	ctx, cancel := context.WithCancel(context.Background())
	b = &ctxio.Bytes{Ctx: ctx, B: data}
	w = writes{onWrite: cancel}
	n, err := b.WriteTo(&w)
	if !errors.Is(err, context.Canceled) || n != writeChunkForTest {
		t.Errorf("WriteTo cancelled after its first write = %d, %v; want %d, context.Canceled", n, err, writeChunkForTest)
	}
	if _, err := b.Read(make([]byte, 1)); !errors.Is(err, context.Canceled) {
		t.Errorf("Read after cancel: %v; want context.Canceled", err)
	}
}

const writeChunkForTest = 256 << 10

type writes struct {
	buf     bytes.Buffer
	n       int
	onWrite func()
}

func (w *writes) Write(p []byte) (int, error) {
	w.n++
	if w.onWrite != nil {
		w.onWrite()
	}
	return w.buf.Write(p)
}
