package objstore_test

import (
	"context"
	"errors"
	"io"
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
