package file

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/objstore-go/objstore/driver"
)

type nopProgress struct{}

func (nopProgress) Start(int64)   {}
func (nopProgress) Add(int64)     {}
func (nopProgress) Reached(int64) {}

// newTestBucket returns a bucket in a fresh directory holding keys.
func newTestBucket(t *testing.T, keys ...string) *bucket {
	t.Helper()
	b, err := newBucket(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if _, err := b.Put(t.Context(), b.prefix+k, strings.NewReader(k), driver.PutRequest{ContentType: "application/octet-stream", Progress: nopProgress{}}); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

// The page protocol of List, seen by the portable store: a page holds at
// most PageSize entries, a page after a Next token never repeats an entry
// of the pages before it, common prefixes included, and the pages
// together are the listing in one page: whether the page cache still
// holds the listing's directories or has dropped them.
func TestListPages(t *testing.T) {
	ctx := context.Background()
	keys := []string{"a", "b/1", "b/2", "b/c/3", "b/c/4", "b/d/5", "b0", "c/x/y/z", "c/x/y0", "d", "e/f/g", "e/f/h", "e/i"}
	b := newTestBucket(t, keys...)
	for _, r := range []driver.ListRequest{
		{}, {Delimiter: "/"}, {Prefix: "b/"}, {Prefix: "b/", Delimiter: "/"}, {Prefix: "b", Delimiter: "/"},
		{StartAfter: "b/c/3"}, {StartAfter: "b/c/3", Delimiter: "/"}, {Prefix: "e/", Delimiter: "/"}, {StartAfter: "c/"},
	} {
		r.Prefix = b.prefix + r.Prefix
		if r.StartAfter != "" {
			r.StartAfter = b.prefix + r.StartAfter
		}
		r.PageSize = 1000
		whole, err := b.List(ctx, r)
		if err != nil || whole.Next != "" {
			t.Fatalf("List(%+v) = %+v, %v", r, whole, err)
		}
		want := entryKeys(whole.Entries)
		if len(want) == 0 {
			t.Fatalf("List(%+v) is empty", r)
		}
		for i := range 2 * len(want) {
			size, dropped := i/2+1, i%2 == 1
			r := r
			r.PageSize = size
			var got []string
			for pages := 0; ; pages++ {
				if pages > len(want) {
					t.Fatalf("List(%+v) does not end", r)
				}
				p, err := b.List(ctx, r)
				if err != nil {
					t.Fatal(err)
				}
				if len(p.Entries) > size {
					t.Errorf("List(%+v) returned a page of %d entries", r, len(p.Entries))
				}
				got = append(got, entryKeys(p.Entries)...)
				if p.Next == "" {
					break
				}
				r.Token = p.Next
				if dropped {
					b.pages.clear()
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("List(%+v) in pages of %d (cache dropped: %v) returned\n %q\nwant, as in one page,\n %q", r, size, dropped, got, want)
			}
		}
	}
}

func entryKeys(es []driver.Entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, fmt.Sprint(e.Key, map[bool]string{true: " (prefix)"}[e.IsPrefix]))
	}
	return out
}

// A listing reads each directory once: its later pages take the entries
// its first page read from the page cache (so an object written meanwhile
// may not appear, as the contract allows), while a new listing reads the
// directory again and sees it. The cache lets go of a listing's state
// once it is complete, and holds at most maxPageStates.
func TestListReadsEachDirectoryOnce(t *testing.T) {
	ctx := t.Context()
	b := newTestBucket(t, "d/k0", "d/k1", "d/k3", "d/k4")
	list := func(r driver.ListRequest) (driver.Page, []string) {
		t.Helper()
		r.Prefix, r.PageSize = b.prefix+"d/", 2
		p, err := b.List(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		return p, entryKeys(p.Entries)
	}
	first, _ := list(driver.ListRequest{})
	if first.Next == "" {
		t.Fatal("the first page of 2 of 4 keys has no Next")
	}
	if _, err := b.Put(ctx, b.prefix+"d/k2", strings.NewReader("new"), driver.PutRequest{ContentType: "application/octet-stream", Progress: nopProgress{}}); err != nil {
		t.Fatal(err)
	}
	if _, got := list(driver.ListRequest{Token: first.Next}); !slices.Equal(got, []string{b.prefix + "d/k3", b.prefix + "d/k4"}) {
		t.Errorf("the second page read the directory again: %q", got)
	}
	if _, got := list(driver.ListRequest{}); !slices.Equal(got, []string{b.prefix + "d/k0", b.prefix + "d/k1"}) {
		t.Errorf("a new listing's first page = %q", got)
	}
	if _, got := list(driver.ListRequest{StartAfter: b.prefix + "d/k1"}); !slices.Equal(got, []string{b.prefix + "d/k2", b.prefix + "d/k3"}) {
		t.Errorf("a new listing does not see the object written before it: %q", got)
	}
	b.pages.clear()
	for range maxPageStates + 3 {
		list(driver.ListRequest{})
	}
	if n := len(b.pages.states); n != maxPageStates {
		t.Errorf("after %d unfinished listings the cache holds %d, want %d", maxPageStates+3, n, maxPageStates)
	}
	// A complete listing pushes out the oldest state with its first page,
	// and leaves none of its own.
	p, _ := list(driver.ListRequest{})
	id := p.Next[:idLen]
	for p.Next != "" {
		p, _ = list(driver.ListRequest{Token: p.Next})
	}
	if _, ok := b.pages.states[id]; ok || len(b.pages.states) != maxPageStates-1 {
		t.Errorf("after a complete listing the cache holds %d states (its own: %v), want %d", len(b.pages.states), ok, maxPageStates-1)
	}
}
