package objstore_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/driver"
)

// badBucket is a driver.Bucket whose answers break the contract in the
// ways a real backend, or a proxy in front of one, has been seen to: the
// portable store must catch each one, for every driver, before it serves
// a byte or yields an entry.
type badBucket struct {
	driver.Bucket // nil: methods not overridden panic
	data          string
	get           func(r driver.GetRequest) (driver.Object, error)
	pages         []driver.Page
	listCalls     int
	deleteErr     error
	closed        int
}

func (b *badBucket) Info() driver.Info { return driver.Info{Scheme: "bad"} }

func (b *badBucket) Get(_ context.Context, _ string, r driver.GetRequest) (driver.Object, error) {
	return b.get(r)
}

func (b *badBucket) List(_ context.Context, r driver.ListRequest) (driver.Page, error) {
	b.listCalls++
	if b.listCalls > len(b.pages) {
		return driver.Page{}, errors.New("listed past the last page")
	}
	return b.pages[b.listCalls-1], nil
}

func (b *badBucket) Delete(context.Context, string) error { return b.deleteErr }
func (b *badBucket) Close() error                         { b.closed++; return nil }

func newBad(t *testing.T, b *badBucket) objstore.Store {
	t.Helper()
	s, err := objstore.NewStore(b, "")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// whole serves b.data entire, whatever was asked: a server that ignored
// the Range header.
func (b *badBucket) whole(driver.GetRequest) (driver.Object, error) {
	return driver.Object{Attrs: driver.Attrs{Size: int64(len(b.data)), ETag: `"1"`},
		Offset: 0, Length: int64(len(b.data)), Body: io.NopCloser(strings.NewReader(b.data))}, nil
}

func TestPortableRefusesAnotherRange(t *testing.T) {
	b := &badBucket{data: "0123456789"}
	b.get = b.whole
	s := newBad(t, b)
	r, err := s.Get(t.Context(), "k", &objstore.GetOptions{Range: &objstore.Range{Offset: 2, Length: 3}})
	if err == nil {
		got, _ := io.ReadAll(r)
		t.Fatalf("a read of bytes 2-4 served %q from a backend that sent the whole object", got)
	}
	if !strings.Contains(err.Error(), "no byte was served") || errors.Is(err, objstore.ErrInvalidRange) {
		t.Fatalf("err = %v; want an error of no class that says no byte was served", err)
	}
	// The whole object, asked for, is served.
	r, err = s.Get(t.Context(), "k", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(r); string(got) != b.data || err != nil {
		t.Fatalf("whole read = %q, %v", got, err)
	}
}

// A resumed read whose backend answers with another version must fail
// with ErrPrecondition, never mix the bytes of two versions.
func TestPortableResumePinnedToETag(t *testing.T) {
	b := &badBucket{data: "0123456789"}
	calls := 0
	b.get = func(r driver.GetRequest) (driver.Object, error) {
		calls++
		if calls == 1 {
			// The first body breaks after 4 bytes with a network error.
			body := io.MultiReader(strings.NewReader(b.data[:4]), errReader{io.ErrUnexpectedEOF})
			return driver.Object{Attrs: driver.Attrs{Size: 10, ETag: `"1"`}, Offset: 0, Length: 10, Body: io.NopCloser(body)}, nil
		}
		if r.IfMatch != `"1"` || r.Offset != 4 || r.Length != 6 {
			t.Errorf("resumed with %+v; want bytes 4-9 pinned to \"1\"", r)
		}
		// A backend that ignored If-Match and has a new version.
		return driver.Object{Attrs: driver.Attrs{Size: 10, ETag: `"2"`}, Offset: 4, Length: 6, Body: io.NopCloser(strings.NewReader("ABCDEF"))}, nil
	}
	s := newBad(t, b)
	r, err := s.Get(t.Context(), "k", nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	if string(got) != "0123" || !errors.Is(err, objstore.ErrPrecondition) {
		t.Fatalf("read = %q, %v; want the 4 bytes of version 1, then ErrPrecondition", got, err)
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func entries(keys ...string) []driver.Entry {
	out := make([]driver.Entry, len(keys))
	for i, k := range keys {
		out[i] = driver.Entry{Attrs: driver.Attrs{Key: k}}
	}
	return out
}

func TestPortableListGuards(t *testing.T) {
	tests := []struct {
		name  string
		pages []driver.Page
		opts  *objstore.ListOptions
		want  string // the keys yielded, joined by ","
		err   string // what the error says, "" for none
	}{
		{"out of order", []driver.Page{{Entries: entries("b", "a")}}, nil, "b", "after"},
		{"out of order across pages", []driver.Page{{Entries: entries("a", "c"), Next: "t1"}, {Entries: entries("b")}}, nil, "a,c", "after"},
		{"repeated token", []driver.Page{{Entries: entries("a"), Next: "t1"}, {Entries: entries("b"), Next: "t1"}}, nil, "a,b", "token it had sent before"},
		// t1 t2 t3 t1 t2 t3: found when t3 comes back, Brent's way.
		{"token cycle", []driver.Page{{Entries: entries("a"), Next: "t1"}, {Entries: entries("b"), Next: "t2"}, {Entries: entries("c"), Next: "t3"},
			{Entries: entries("d"), Next: "t1"}, {Entries: entries("e"), Next: "t2"}, {Entries: entries("f"), Next: "t3"}}, nil, "a,b,c,d,e,f", "token it had sent before"},
		{"repeated entry at a page boundary", []driver.Page{{Entries: entries("a", "b"), Next: "t1"}, {Entries: entries("b", "c")}}, nil, "a,b,c", ""},
		{"ignored StartAfter", []driver.Page{{Entries: entries("a", "b", "c")}}, &objstore.ListOptions{StartAfter: "b"}, "c", ""},
		{"ignored Prefix", []driver.Page{{Entries: entries("a", "p/1", "q")}}, &objstore.ListOptions{Prefix: "p/"}, "p/1", ""},
	}
	// 101 empty pages in a row end the listing.
	var empty []driver.Page
	for i := range 102 {
		empty = append(empty, driver.Page{Next: fmt.Sprint("t", i)})
	}
	tests = append(tests, struct {
		name  string
		pages []driver.Page
		opts  *objstore.ListOptions
		want  string
		err   string
	}{"empty pages", empty, nil, "", "empty pages"})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newBad(t, &badBucket{pages: tt.pages})
			var keys []string
			var err error
			for e, lerr := range s.List(t.Context(), tt.opts) {
				if lerr != nil {
					err = lerr
					break
				}
				keys = append(keys, e.Key)
			}
			if got := strings.Join(keys, ","); got != tt.want {
				t.Errorf("yielded %q, want %q", got, tt.want)
			}
			switch {
			case tt.err == "" && err != nil:
				t.Errorf("err = %v", err)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Errorf("err = %v, want one saying %q", err, tt.err)
			}
		})
	}
}

func TestPortableDeleteMissingAndClose(t *testing.T) {
	b := &badBucket{deleteErr: &driver.Error{Kind: driver.ErrNotFound}}
	s := newBad(t, b)
	if err := s.Delete(t.Context(), "k"); err != nil {
		t.Fatalf("Delete of a missing key = %v, want nil", err)
	}
	b.deleteErr = driver.Errorf(driver.ErrPermission, "no")
	err := s.Delete(t.Context(), "k")
	var oe *objstore.Error
	if !errors.Is(err, objstore.ErrPermission) || !errors.As(err, &oe) || oe.Driver != "bad" || oe.Op != "delete" || oe.Key != "k" {
		t.Fatalf("Delete = %#v, want an *objstore.Error of bad delete \"k\", ErrPermission", err)
	}
	s.Close()
	s.Close()
	if b.closed != 1 {
		t.Fatalf("the driver was closed %d times, want 1", b.closed)
	}
	if err := s.Delete(t.Context(), "k"); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Fatalf("Delete after Close = %v", err)
	}
}

// A body that fails after a cancel reports it as the Get's error, with
// the driver, the operation and the key (rule E1), on every driver.
func TestPortableBodyErrorsAreTheGets(t *testing.T) {
	b := &badBucket{data: "0123456789"}
	ctx, cancel := context.WithCancel(t.Context())
	b.get = func(driver.GetRequest) (driver.Object, error) {
		body := io.MultiReader(strings.NewReader("01"), errReader{context.Canceled})
		return driver.Object{Attrs: driver.Attrs{Size: 10, ETag: `"1"`}, Length: 10, Body: io.NopCloser(body)}, nil
	}
	s := newBad(t, b)
	r, err := s.Get(ctx, "k", nil)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	_, err = io.ReadAll(r)
	var oe *objstore.Error
	if !errors.Is(err, context.Canceled) || !errors.As(err, &oe) || oe.Driver != "bad" || oe.Op != "get" || oe.Key != "k" {
		t.Fatalf("read after cancel = %#v; want an *objstore.Error of bad get \"k\" that is context.Canceled", err)
	}
}
