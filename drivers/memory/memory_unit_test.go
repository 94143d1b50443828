package memory_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/drivers/memory"
)

func TestListEmptyStoreEnds(t *testing.T) {
	s := memory.New()
	for _, opts := range []*objstore.ListOptions{nil, {Delimiter: "/"}, {Prefix: "a", PageSize: 1}} {
		for e, err := range s.List(t.Context(), opts) {
			t.Fatalf("List of an empty store yielded %+v, %v", e, err)
		}
	}
	// Emptied again after a write: the key index must not go stale.
	s.Put(t.Context(), "k", strings.NewReader("x"), nil)
	s.Delete(t.Context(), "k")
	for e := range s.List(t.Context(), nil) {
		t.Fatalf("List after deleting the only key yielded %q", e.Key)
	}
}

func TestCreateFalse(t *testing.T) {
	ctx := t.Context()
	s, err := objstore.Open(ctx, "mem://never-created-here?create=false")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Stat(ctx, "k"); !errors.Is(err, objstore.ErrBucketNotFound) {
		t.Fatalf("Stat in a missing named store: %v", err)
	}
	a, _ := objstore.Open(ctx, "mem://created-here")
	a.Put(ctx, "k", strings.NewReader("x"), nil)
	b, _ := objstore.Open(ctx, "mem://created-here?create=false")
	if _, err := b.Stat(ctx, "k"); err != nil {
		t.Fatalf("create=false of an existing store: %v", err)
	}
	if _, err := objstore.Open(ctx, "mem://x?create=maybe"); !errors.Is(err, objstore.ErrInvalidArgument) {
		t.Fatalf("create=maybe: %v", err)
	}
}

func TestClose(t *testing.T) {
	ctx := context.Background()
	a, _ := objstore.Open(ctx, "mem://close-test")
	b, _ := objstore.Open(ctx, "mem://close-test")
	a.Put(ctx, "k", strings.NewReader("x"), nil)
	a.Close()
	if _, err := a.Stat(ctx, "k"); err == nil {
		t.Fatal("Stat after Close succeeded")
	}
	if _, err := b.Stat(ctx, "k"); err != nil {
		t.Fatalf("closing one handle removed the named store's objects: %v", err)
	}
}

// lyingLen announces a length that is not the body's.
type lyingLen struct {
	io.Reader
	n int
}

func (l lyingLen) Len() int { return l.n }

func TestPutReadsTheWholeBodyWhateverLenSays(t *testing.T) {
	ctx := t.Context()
	s := memory.New()
	for _, n := range []int{0, 3, 11, 100} {
		if _, err := s.Put(ctx, "k", lyingLen{strings.NewReader("hello world"), n}, nil); err != nil {
			t.Fatal(err)
		}
		got, _, err := objstore.ReadAll(ctx, s, "k")
		if string(got) != "hello world" || err != nil {
			t.Errorf("a body announcing %d bytes was stored as %q, %v", n, got, err)
		}
	}
}
