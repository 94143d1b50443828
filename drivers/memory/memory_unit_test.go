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

func TestInjectFailsTheNextCall(t *testing.T) {
	ctx := t.Context()
	s := memory.New()
	s.Put(ctx, "k", strings.NewReader("hello world"), nil)

	s.Inject(memory.Fault{Op: memory.OpGet, Key: "k", Err: objstore.ErrThrottled})
	if _, err := s.Get(ctx, "other", nil); !errors.Is(err, objstore.ErrNotFound) {
		t.Fatalf("a fault on key k fired for another key: %v", err)
	}
	if _, err := s.Get(ctx, "k", nil); !errors.Is(err, objstore.ErrThrottled) {
		t.Fatalf("Get with an injected fault: %v, want ErrThrottled", err)
	}
	if _, err := s.Get(ctx, "k", nil); err != nil {
		t.Fatalf("the fault fired twice: %v", err)
	}

	s.Inject(memory.Fault{Op: memory.OpGet, Err: io.ErrUnexpectedEOF, AfterBytes: 5})
	r, err := s.Get(ctx, "k", nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	if string(got) != "hello" || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("a body fault after 5 bytes gave %q, %v", got, err)
	}

	old, _ := s.Stat(ctx, "k")
	s.Inject(memory.Fault{Op: memory.OpPut, AfterBytes: 3})
	if _, err := s.Put(ctx, "k", strings.NewReader("replacement"), nil); !errors.Is(err, objstore.ErrThrottled) {
		t.Fatalf("Put with a body fault: %v, want the default ErrThrottled", err)
	}
	if now, _ := s.Stat(ctx, "k"); now.ETag != old.ETag {
		t.Fatalf("a Put that failed midway replaced the object")
	}

	s.Inject(memory.Fault{Err: objstore.ErrPermission, Times: 2})
	for range 2 {
		if err := s.Delete(ctx, "k"); !errors.Is(err, objstore.ErrPermission) {
			t.Fatalf("Delete with an OpAny fault: %v", err)
		}
	}
	s.Inject(memory.Fault{Op: memory.OpCopy, Key: "src"})
	s.ClearFaults()
	if _, err := s.Copy(ctx, "dst", "k", nil); err != nil {
		t.Fatalf("Copy after ClearFaults: %v", err)
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
