package ctxio_test

import (
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
