package conformance

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"

	"github.com/objstore-go/objstore"
)

// G1: a missing key, or a prefix with children, is not found.
func caseGetMissing(c *C) {
	c.put("dir/child", []byte("x"), nil)
	for _, key := range []string{"missing", "dir", "dir/chil", "dir/child/x"} {
		_, err := c.s.Stat(c.ctx, key)
		c.wantErr(err, objstore.ErrNotFound, fmt.Sprintf("Stat(%q)", key))
		_, err = c.s.Get(c.ctx, key, nil)
		c.wantErr(err, objstore.ErrNotFound, fmt.Sprintf("Get(%q)", key))
		_, err = c.s.Get(c.ctx, key, &objstore.GetOptions{Range: &objstore.Range{Offset: 0, Length: 1}})
		c.wantErr(err, objstore.ErrNotFound, fmt.Sprintf("Get(%q) of a range", key))
	}
}

// G2: the Reader's attributes are Stat's, and it yields exactly Size bytes.
func caseReaderAttrs(c *C) {
	data := gen(3, 1000)
	c.put("k", data, &objstore.PutOptions{ContentType: "text/x-test", Metadata: map[string]string{"Owner": "me"}})
	st := c.stat("k")
	got, r := c.read("k", nil)
	c.sameAttrs("Get's Reader.Attrs against Stat", r.Attrs, st)
	if r.Offset != 0 || r.Length != 1000 || len(got) != 1000 || string(got) != string(data) {
		c.Errorf("Get served Offset %d Length %d and %d bytes, want 0, 1000 and the bytes written", r.Offset, r.Length, len(got))
	}
	_, r = c.read("k", &objstore.GetOptions{Range: &objstore.Range{Offset: 10, Length: 10}})
	c.sameAttrs("a ranged Get's Reader.Attrs against Stat", r.Attrs, st)
}

// G3: ranges serve [o, min(o+l, size)).
func caseRanges(c *C) {
	data := gen(4, 100)
	c.put("k", data, nil)
	c.put("empty", nil, nil)
	tests := []struct {
		key            string
		off, length    int64
		wantOff, wantN int64
		err            error
	}{
		{"k", 0, 10, 0, 10, nil},
		{"k", 10, -1, 10, 90, nil},
		{"k", 0, -1, 0, 100, nil},
		{"k", 90, 50, 90, 10, nil},
		{"k", 99, 1, 99, 1, nil},
		{"k", 0, 100, 0, 100, nil},
		{"k", 0, 1000, 0, 100, nil},
		{"k", 50, 0, 50, 0, nil},
		{"k", 100, -1, 100, 0, nil},
		{"k", 100, 5, 100, 0, nil},
		{"k", 101, 1, 0, 0, objstore.ErrInvalidRange},
		{"k", 1000, -1, 0, 0, objstore.ErrInvalidRange},
		{"k", -1, 5, 0, 0, objstore.ErrInvalidArgument},
		{"empty", 0, -1, 0, 0, nil},
		{"empty", 0, 10, 0, 0, nil},
		{"empty", 0, 0, 0, 0, nil},
		{"empty", 1, -1, 0, 0, objstore.ErrInvalidRange},
	}
	for _, tt := range tests {
		what := fmt.Sprintf("Get(%q, Range{%d, %d})", tt.key, tt.off, tt.length)
		opts := &objstore.GetOptions{Range: &objstore.Range{Offset: tt.off, Length: tt.length}}
		if tt.err != nil {
			r, err := c.s.Get(c.ctx, tt.key, opts)
			if err == nil {
				r.Close()
			}
			c.wantErr(err, tt.err, what)
			continue
		}
		got, r := c.read(tt.key, opts)
		size := int64(len(data))
		var want []byte
		if tt.key == "k" {
			want = data[tt.wantOff : tt.wantOff+tt.wantN]
		} else {
			size = 0
		}
		if r.Offset != tt.wantOff || r.Length != tt.wantN || r.Attrs.Size != size || string(got) != string(want) {
			c.Errorf("%s served Offset %d Length %d Size %d and %d bytes; want %d, %d, %d and the bytes at that range",
				what, r.Offset, r.Length, r.Attrs.Size, len(got), tt.wantOff, tt.wantN, size)
		}
	}
}

// G3: any offset and length are valid, up to math.MaxInt64. A length that
// runs past the end, however far, is clamped to it, also when offset+length
// overflows int64; an offset past the end, however large, gives
// ErrInvalidRange and never bytes.
func caseHugeRanges(c *C) {
	const maxInt = math.MaxInt64
	data := gen(6, 100)
	c.put("k", data, nil)
	c.put("empty", nil, nil)
	c.checkRanges("k", data, []rangeTest{
		{10, maxInt, 10, 90, nil}, // the case: Azure served bytes 0-89 as 10-99
		{10, maxInt - 10, 10, 90, nil},
		{10, maxInt - 9, 10, 90, nil}, // the last byte asked for is MaxInt64
		{10, maxInt - 8, 10, 90, nil}, // ... and here it would be past it
		{0, maxInt, 0, 100, nil},
		{1, maxInt, 1, 99, nil},
		{2, maxInt, 2, 98, nil},
		{50, maxInt - 49, 50, 50, nil},
		{99, maxInt, 99, 1, nil},
		{100, maxInt, 100, 0, nil},
		{101, maxInt, 0, 0, objstore.ErrInvalidRange},
		{1 << 40, 10, 0, 0, objstore.ErrInvalidRange},
		{maxInt / 2, maxInt/2 + 10, 0, 0, objstore.ErrInvalidRange},
		{maxInt - 100, 100, 0, 0, objstore.ErrInvalidRange},
		{maxInt - 1, 1, 0, 0, objstore.ErrInvalidRange},
		{maxInt - 1, maxInt, 0, 0, objstore.ErrInvalidRange},
		{maxInt, 1, 0, 0, objstore.ErrInvalidRange},
		{maxInt, maxInt, 0, 0, objstore.ErrInvalidRange},
		{maxInt, -1, 0, 0, objstore.ErrInvalidRange},
	})
	c.checkRanges("empty", nil, []rangeTest{
		{0, maxInt, 0, 0, nil},
		{1, maxInt, 0, 0, objstore.ErrInvalidRange},
		{maxInt, maxInt, 0, 0, objstore.ErrInvalidRange},
	})
}

// G5: every byte served is the byte asked for, at the offset the Reader
// reports: ranges of all shapes over an object larger than one read, each
// compared byte for byte. (A driver's proxy tests show the other half of
// the rule: a response for other bytes is an error, never data.)
func caseServedBytes(c *C) {
	const size = 1<<20 + 7
	data := gen(7, size)
	c.put("k", data, nil)
	tests := []rangeTest{
		{0, 1, 0, 1, nil},
		{0, size - 1, 0, size - 1, nil},
		{1, size - 1, 1, size - 1, nil},
		{size - 1, 1, size - 1, 1, nil},
		{size - 1, math.MaxInt64, size - 1, 1, nil},
		{1 << 19, -1, 1 << 19, size - 1<<19, nil},
		{1 << 19, math.MaxInt64 - 1<<19, 1 << 19, size - 1<<19, nil},
	}
	rnd := rand.New(rand.NewPCG(7, 7))
	for range 8 {
		off := rnd.Int64N(size)
		n := 1 + rnd.Int64N(size)
		tests = append(tests, rangeTest{off, n, off, min(n, size-off), nil})
	}
	c.checkRanges("k", data, tests)
}

// rangeTest is one ranged Get of an object and what it must serve: the
// bytes [wantOff, wantOff+wantN) of it, or an error of class err.
type rangeTest struct {
	off, length    int64
	wantOff, wantN int64
	err            error
}

// checkRanges runs each test against key, which holds data, and reports
// every range that serves other bytes, or other Offset, Length or Size,
// than it should.
func (c *C) checkRanges(key string, data []byte, tests []rangeTest) {
	c.Helper()
	for _, tt := range tests {
		what := fmt.Sprintf("Get(%q, Range{%d, %d})", key, tt.off, tt.length)
		r, err := c.s.Get(c.ctx, key, &objstore.GetOptions{Range: &objstore.Range{Offset: tt.off, Length: tt.length}})
		if tt.err != nil {
			if err == nil {
				got, _ := io.ReadAll(r)
				r.Close()
				c.Errorf("%s served Offset %d Length %d and %d bytes; want an error that is %v", what, r.Offset, r.Length, len(got), tt.err)
				continue
			}
			c.wantErr(err, tt.err, what)
			continue
		}
		if err != nil {
			if errors.Is(err, objstore.ErrUnsupported) {
				c.unsupported(what, err)
			}
			c.Errorf("%s: %v", what, err)
			continue
		}
		got, err := io.ReadAll(r)
		r.Close()
		want := data[tt.wantOff : tt.wantOff+tt.wantN]
		switch {
		case err != nil:
			c.Errorf("%s: reading: %v after %d bytes", what, err, len(got))
		case r.Offset != tt.wantOff || r.Length != tt.wantN || r.Attrs.Size != int64(len(data)):
			c.Errorf("%s served Offset %d Length %d Size %d; want %d, %d, %d", what, r.Offset, r.Length, r.Attrs.Size, tt.wantOff, tt.wantN, len(data))
		case !bytes.Equal(got, want):
			i := 0
			for i < len(got) && i < len(want) && got[i] == want[i] {
				i++
			}
			c.Errorf("%s served %d bytes that differ from the object's bytes [%d, %d) from byte %d on", what, len(got), tt.wantOff, tt.wantOff+tt.wantN, i)
		}
	}
}

// G4: IfMatch and IfNoneMatch on Get, "*" included.
func caseGetPreconditions(c *C) {
	old := c.put("k", []byte("old"), nil)
	cur := c.put("k", []byte("current"), nil)
	rng := &objstore.Range{Offset: 1, Length: 2}
	for _, r := range []*objstore.Range{nil, rng} {
		suffix := ""
		if r != nil {
			suffix = " of a range"
		}
		get := func(o objstore.GetOptions) error {
			o.Range = r
			rd, err := c.s.Get(c.ctx, "k", &o)
			if err == nil {
				rd.Close()
			}
			return err
		}
		c.ok(get(objstore.GetOptions{IfMatch: cur.ETag}), "Get IfMatch the current ETag"+suffix)
		c.ok(get(objstore.GetOptions{IfMatch: "*"}), "Get IfMatch *"+suffix)
		c.ok(get(objstore.GetOptions{IfNoneMatch: old.ETag}), "Get IfNoneMatch a stale ETag"+suffix)
		c.wantErr(get(objstore.GetOptions{IfMatch: old.ETag}), objstore.ErrPrecondition, "Get IfMatch a stale ETag"+suffix)
		c.wantErr(get(objstore.GetOptions{IfNoneMatch: cur.ETag}), objstore.ErrNotModified, "Get IfNoneMatch the current ETag"+suffix)
		c.wantErr(get(objstore.GetOptions{IfNoneMatch: "*"}), objstore.ErrNotModified, "Get IfNoneMatch *"+suffix)
	}
}

// D1: a deleted key is gone from Stat, Get and List; deleting a missing
// key is not an error.
func caseDelete(c *C) {
	c.put("k", []byte("x"), nil)
	c.put("keep", []byte("x"), nil)
	c.ok(c.s.Delete(c.ctx, "k"), "Delete")
	c.missing("k")
	_, err := c.s.Get(c.ctx, "k", nil)
	c.wantErr(err, objstore.ErrNotFound, "Get after Delete")
	entries, err := c.list(objstore.ListOptions{}, 10)
	c.ok(err, "List")
	if got := keysOf(entries); len(got) != 1 || got[0] != "keep" {
		c.Errorf("List after Delete returned %q, want [keep]", got)
	}
	c.ok(c.s.Delete(c.ctx, "k"), "Delete of a deleted key")
	c.ok(c.s.Delete(c.ctx, "never-existed"), "Delete of a missing key")
}
