package azure_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/drivers/azure"
	"github.com/objstore-go/objstore/drivers/memory"
)

func listKeys(t *testing.T, s objstore.Store, opts objstore.ListOptions) []string {
	t.Helper()
	var out []string
	for e, err := range s.List(context.Background(), &opts) {
		if err != nil {
			t.Fatalf("List(%+v): %v", opts, err)
		}
		k := e.Key
		if e.IsPrefix {
			k += " (prefix)"
		}
		out = append(out, k)
		if len(out) > 1000 {
			t.Fatalf("List(%+v) does not end", opts)
		}
	}
	return out
}

// TestListMatchesMemoryAzurite lists the same keys from Azurite and from
// the memory driver, the reference, with every combination of prefix,
// delimiter, StartAfter and page size, and wants the same answers. The
// StartAfter values fall before, on, between and inside the keys and their
// common prefixes, which is where emulating StartAfter is hard.
//
// It runs twice: with startFrom, which Azurite honours, and without, as
// against a service that predates it, where filtering does all the work.
func TestListMatchesMemoryAzurite(t *testing.T) {
	b := testBackend(t)
	for _, startFrom := range []bool{true, false} {
		t.Run(fmt.Sprintf("startFrom=%v", startFrom), func(t *testing.T) {
			s := open(t, b.storeURL(t, credName(t, b)), nil)
			if !startFrom {
				azure.DisableStartFrom(s)
			}
			listMatchesMemory(t, s)
		})
	}
}

func listMatchesMemory(t *testing.T, s objstore.Store) {
	ref := memory.New()
	ctx := context.Background()
	keys := []string{"a", "a/1", "a/2", "a/b/3", "a/b/4", "a-", "a0", "b", "c/1", "c/2/x", "c/3", "d", "d/1", "e/f/g/h", "z"}
	for _, k := range keys {
		for _, st := range []objstore.Store{s, ref} {
			if _, err := st.Put(ctx, k, strings.NewReader(k), nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	starts := []string{"", "0", "a", "a/", "a/1", "a/10", "a/b", "a/b/", "a/b/3", "a/b/4", "a/b/5", "a-", "a/c", "b", "bb", "c/", "c/1", "c/2", "c/2/x", "c/2/y", "c/3", "d", "d/", "d/1", "e", "e/f/g/h", "y", "z", "zz"}
	prefixes := []string{"", "a", "a/", "a/b/", "c", "c/", "e/", "q"}
	n := 0
	for _, prefix := range prefixes {
		for _, delim := range []string{"", "/"} {
			for _, after := range starts {
				for _, size := range []int{1, 2, 1000} {
					opts := objstore.ListOptions{Prefix: prefix, Delimiter: delim, StartAfter: after, PageSize: size}
					got, want := listKeys(t, s, opts), listKeys(t, ref, opts)
					if !slices.Equal(got, want) {
						t.Errorf("List(%+v) = %q; the memory driver says %q", opts, got, want)
					}
					n++
				}
			}
		}
	}
	t.Logf("%d listings agree", n)
}

// TestListEntriesAzurite checks the attributes of list entries against
// Stat.
func TestListEntriesAzurite(t *testing.T) {
	b := testBackend(t)
	s := open(t, b.storeURL(t, credName(t, b)), nil)
	ctx := context.Background()
	for i := range 3 {
		if _, err := s.Put(ctx, fmt.Sprintf("k%d", i), strings.NewReader(strings.Repeat("x", i)), &objstore.PutOptions{ContentType: "text/x", Metadata: map[string]string{"m": "v"}}); err != nil {
			t.Fatal(err)
		}
	}
	for e, err := range s.List(ctx, nil) {
		if err != nil {
			t.Fatal(err)
		}
		st, err := s.Stat(ctx, e.Key)
		if err != nil {
			t.Fatal(err)
		}
		if e.Size != st.Size || e.ETag != st.ETag || !e.ModTime.Equal(st.ModTime) || e.ContentType != "" || e.Metadata != nil || e.IsPrefix {
			t.Errorf("entry %+v; Stat %+v", e, st)
		}
	}
}
