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

func (nopProgress) Start(int64) {}
func (nopProgress) Add(int64)   {}

// The page protocol of List, seen by the portable store: a page holds at
// most PageSize entries, a page after a Next token never repeats an entry
// of the pages before it, common prefixes included, and the pages
// together are the listing in one page.
func TestListPages(t *testing.T) {
	ctx := context.Background()
	b, err := newBucket(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	keys := []string{"a", "b/1", "b/2", "b/c/3", "b/c/4", "b/d/5", "b0", "c/x/y/z", "c/x/y0", "d", "e/f/g", "e/f/h", "e/i"}
	for _, k := range keys {
		if _, err := b.Put(ctx, b.prefix+k, strings.NewReader(k), driver.PutRequest{ContentType: "application/octet-stream", Progress: nopProgress{}}); err != nil {
			t.Fatal(err)
		}
	}
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
		for size := 1; size <= len(want); size++ {
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
			}
			if !slices.Equal(got, want) {
				t.Errorf("List(%+v) in pages of %d returned\n %q\nwant, as in one page,\n %q", r, size, got, want)
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
