package faults_test

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/drivers/memory"
	"github.com/objstore-go/objstore/faults"
)

func TestInjectFailsTheNextCall(t *testing.T) {
	ctx := t.Context()
	s := faults.Wrap(memory.New(), "mem")
	s.Put(ctx, "k", strings.NewReader("hello world"), nil)

	s.Inject(faults.Fault{Op: faults.OpGet, Key: "k", Err: objstore.ErrThrottled})
	if _, err := s.Get(ctx, "other", nil); !errors.Is(err, objstore.ErrNotFound) {
		t.Fatalf("a fault on key k fired for another key: %v", err)
	}
	if _, err := s.Get(ctx, "k", nil); !errors.Is(err, objstore.ErrThrottled) {
		t.Fatalf("Get with an injected fault: %v, want ErrThrottled", err)
	}
	if _, err := s.Get(ctx, "k", nil); err != nil {
		t.Fatalf("the fault fired twice: %v", err)
	}

	s.Inject(faults.Fault{Op: faults.OpGet, Err: io.ErrUnexpectedEOF, AfterBytes: 5})
	r, err := s.Get(ctx, "k", nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	if string(got) != "hello" || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("a body fault after 5 bytes gave %q, %v", got, err)
	}

	old, _ := s.Stat(ctx, "k")
	s.Inject(faults.Fault{Op: faults.OpPut, AfterBytes: 3})
	if _, err := s.Put(ctx, "k", strings.NewReader("replacement"), nil); !errors.Is(err, objstore.ErrThrottled) {
		t.Fatalf("Put with a body fault: %v, want the default ErrThrottled", err)
	}
	if now, _ := s.Stat(ctx, "k"); now.ETag != old.ETag {
		t.Fatalf("a Put that failed midway replaced the object")
	}

	s.Inject(faults.Fault{Err: objstore.ErrPermission, Times: 2})
	for range 2 {
		if err := s.Delete(ctx, "k"); !errors.Is(err, objstore.ErrPermission) {
			t.Fatalf("Delete with an OpAny fault: %v", err)
		}
	}
	s.Inject(faults.Fault{Op: faults.OpCopy, Key: "src"})
	s.Clear()
	if _, err := s.Copy(ctx, "dst", "k", nil); err != nil {
		t.Fatalf("Copy after Clear: %v", err)
	}
}
