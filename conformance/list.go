package conformance

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/objstore-go/objstore"
)

// L1: keys come in byte order, each once, with a raw string prefix.
func caseListOrder(c *C) {
	// No key is both an object and a "/"-prefix of another: MinIO cannot
	// list "a" beside "a/b", versitygw cannot store them (see
	// docs/SEMANTICS.md, backend notes).
	keys := []string{"fox", "a/b", "~", "B", "\u00e9", "a0", "a-", "fo", "a b", "foo/x", "Z/z", "0"}
	for _, k := range keys {
		c.put(k, []byte(k), &objstore.PutOptions{ContentType: "text/plain", Metadata: map[string]string{"m": "v"}})
	}
	want := slices.Clone(keys)
	slices.Sort(want)
	entries, err := c.list(objstore.ListOptions{}, 2*len(keys))
	c.ok(err, "List")
	if got := keysOf(entries); !slices.Equal(got, want) {
		c.Errorf("List returned\n %q\nwant, in byte order,\n %q", got, want)
	}
	for _, e := range entries {
		st := c.stat(e.Key)
		if e.IsPrefix || e.Size != st.Size || e.ETag != st.ETag || !within(e.ModTime, st.ModTime, time.Second) {
			c.Errorf("List entry %+v disagrees with Stat %+v", e, st)
		}
		if e.ContentType != "" || e.Metadata != nil {
			c.Errorf("List entry %q carries ContentType %q and Metadata %q; listings carry neither", e.Key, e.ContentType, e.Metadata)
		}
	}
	entries, err = c.list(objstore.ListOptions{Prefix: "fo"}, 10)
	c.ok(err, "List with Prefix fo")
	if got := keysOf(entries); !slices.Equal(got, []string{"fo", "foo/x", "fox"}) {
		c.Errorf("List with Prefix fo returned %q, want [fo foo/x fox]", got)
	}
}

// L2: the "/" delimiter yields direct children and each common prefix once.
func caseListDelimiter(c *C) {
	for _, k := range []string{"a/1", "a/2", "a/b/3", "a/b/4", "a/c/5", "b", "c/4", "d"} {
		c.put(k, []byte("x"), nil)
	}
	tests := []struct {
		prefix string
		want   []string
	}{
		{"", []string{"a/ (prefix)", "b", "c/ (prefix)", "d"}},
		{"a/", []string{"a/1", "a/2", "a/b/ (prefix)", "a/c/ (prefix)"}},
		{"a", []string{"a/ (prefix)"}},
		{"a/b/", []string{"a/b/3", "a/b/4"}},
	}
	for _, tt := range tests {
		entries, err := c.list(objstore.ListOptions{Prefix: tt.prefix, Delimiter: "/"}, 20)
		c.ok(err, "List with a delimiter")
		if got := keysOf(entries); !slices.Equal(got, tt.want) {
			c.Errorf("List(Prefix %q, Delimiter /) returned %q, want %q", tt.prefix, got, tt.want)
		}
		for _, e := range entries {
			if e.IsPrefix && (e.Size != 0 || e.ETag != "" || !e.ModTime.IsZero()) {
				c.Errorf("common prefix %q carries attributes %+v", e.Key, e.Attrs)
			}
		}
	}
	for _, d := range []string{"-", "//", "a"} {
		_, err := c.list(objstore.ListOptions{Delimiter: d}, 20)
		c.wantErr(err, objstore.ErrInvalidArgument, fmt.Sprintf("List with Delimiter %q", d))
	}
}

// L3: StartAfter is exclusive and need not exist.
func caseListStartAfter(c *C) {
	for _, k := range []string{"a", "b", "c", "d/1", "d/2", "e"} {
		c.put(k, []byte("x"), nil)
	}
	tests := []struct {
		opts objstore.ListOptions
		want []string
	}{
		{objstore.ListOptions{StartAfter: "b"}, []string{"c", "d/1", "d/2", "e"}},
		{objstore.ListOptions{StartAfter: "bb"}, []string{"c", "d/1", "d/2", "e"}},
		{objstore.ListOptions{StartAfter: "e"}, nil},
		{objstore.ListOptions{StartAfter: "zzz"}, nil},
		{objstore.ListOptions{StartAfter: "c", Delimiter: "/"}, []string{"d/ (prefix)", "e"}},
		{objstore.ListOptions{StartAfter: "d/1", Prefix: "d/"}, []string{"d/2"}},
		{objstore.ListOptions{StartAfter: "0"}, []string{"a", "b", "c", "d/1", "d/2", "e"}},
	}
	for _, tt := range tests {
		entries, err := c.list(tt.opts, 20)
		c.ok(err, "List with StartAfter")
		if got := keysOf(entries); !slices.Equal(got, tt.want) && !(len(got) == 0 && len(tt.want) == 0) {
			c.Errorf("List(%+v) returned %q, want %q", tt.opts, got, tt.want)
		}
	}
}

// L4: the page size changes nothing but the number of requests, and
// breaking out of the loop ends it.
func caseListPageSizes(c *C) {
	var keys []string
	for i := range 15 {
		keys = append(keys, fmt.Sprintf("k%02d", i))
	}
	for i := range 5 {
		keys = append(keys, fmt.Sprintf("dir/k%02d", i), fmt.Sprintf("dir%d/x/y", i))
	}
	for _, k := range keys {
		c.put(k, nil, nil)
	}
	for _, base := range []objstore.ListOptions{{}, {Delimiter: "/"}, {StartAfter: "dir/k02"}, {Prefix: "dir", Delimiter: "/"}} {
		var first []string
		for _, size := range []int{1, 7, 1000} {
			opts := base
			opts.PageSize = size
			entries, err := c.list(opts, 2*len(keys))
			c.ok(err, fmt.Sprintf("List(%+v)", opts))
			got := keysOf(entries)
			if size == 1 {
				first = got
			} else if !slices.Equal(got, first) {
				c.Errorf("List(%+v) returned\n %q\nbut with PageSize 1\n %q", opts, got, first)
			}
		}
		if len(first) == 0 {
			c.Errorf("List(%+v) returned nothing", base)
		}
	}
	n := 0
	for _, err := range c.s.List(c.ctx, &objstore.ListOptions{PageSize: 2}) {
		c.ok(err, "List")
		if n++; n == 3 {
			break
		}
	}
	if n != 3 {
		c.Errorf("breaking out of List after 3 entries saw %d", n)
	}
}

// L5: a missing prefix lists nothing.
func caseListMissingPrefix(c *C) {
	c.put("present/x", nil, nil)
	for _, d := range []string{"", "/"} {
		entries, err := c.list(objstore.ListOptions{Prefix: "absent/", Delimiter: d}, 10)
		c.ok(err, "List of a missing prefix")
		if len(entries) != 0 {
			c.Errorf("List of a missing prefix returned %q", keysOf(entries))
		}
	}
}

// L5: a missing bucket gives ErrBucketNotFound, which is not ErrNotFound,
// from every operation, Stat and Copy included.
func caseMissingBucket(c *C) {
	s := c.openMissingBucket()
	defer s.Close()
	check := func(err error, what string) {
		c.Helper()
		if c.wantErr(err, objstore.ErrBucketNotFound, what+" in a missing bucket") && errors.Is(err, objstore.ErrNotFound) {
			c.Errorf("%s in a missing bucket: %v is also ErrNotFound", what, err)
		}
	}
	_, err := c.collect(s, objstore.ListOptions{})
	check(err, "List")
	_, err = s.Put(c.ctx, "k", strings.NewReader("x"), nil)
	check(err, "Put")
	_, err = s.Get(c.ctx, "k", nil)
	check(err, "Get")
	_, err = s.Stat(c.ctx, "k")
	check(err, "Stat")
	_, err = s.Copy(c.ctx, "dst", "k", nil)
	check(err, "Copy")
	check(s.Delete(c.ctx, "k"), "Delete")
}

func (c *C) collect(s objstore.Store, opts objstore.ListOptions) (n int, err error) {
	for _, err := range s.List(c.ctx, &opts) {
		if err != nil {
			return n, err
		}
		if n++; n > 10000 {
			c.Fatalf("List did not end")
		}
	}
	return n, nil
}
