package conformance

import (
	"fmt"
	"maps"
	"sync"

	"github.com/objstore-go/objstore"
)

// C1: dst gets src's bytes, ContentType and Metadata; src is unchanged.
func caseCopy(c *C) {
	meta := map[string]string{"owner": "me", "n": "1"}
	src := c.put("src", []byte("payload"), &objstore.PutOptions{ContentType: "text/x-copy", Metadata: meta})
	c.put("dst", []byte("old dst"), nil)
	a, err := c.s.Copy(c.ctx, "dst", "src", nil)
	c.ok(err, "Copy")
	c.validETag("Copy", a.ETag)
	st := c.stat("dst")
	if a.Key != "dst" || a.Size != 7 || st.ETag != a.ETag || st.Size != 7 || !within(st.ModTime, a.ModTime, 2e9) {
		c.Errorf("Copy returned %+v; Stat of dst returned %+v", a, st)
	}
	if st.ContentType != "text/x-copy" || !maps.Equal(st.Metadata, meta) || a.ContentType != st.ContentType || !maps.Equal(a.Metadata, meta) {
		c.Errorf("dst has ContentType %q Metadata %q (Copy returned %q %q), want %q %q",
			st.ContentType, st.Metadata, a.ContentType, a.Metadata, "text/x-copy", meta)
	}
	c.content("dst", []byte("payload"), a.ETag)
	c.content("src", []byte("payload"), src.ETag)
	if s2 := c.stat("src"); s2.ContentType != "text/x-copy" || !maps.Equal(s2.Metadata, meta) {
		c.Errorf("the copy changed src's attributes: %+v", s2)
	}
	// Into a deeper key, and from a zero-byte object.
	c.put("zero", nil, nil)
	_, err = c.s.Copy(c.ctx, "deep/er/zero", "zero", nil)
	c.ok(err, "Copy of a zero-byte object")
	c.content("deep/er/zero", nil, "")
}

// C2: a missing src gives ErrNotFound and leaves dst untouched.
func caseCopyMissing(c *C) {
	d := c.put("dst", []byte("dst"), nil)
	_, err := c.s.Copy(c.ctx, "dst", "missing", nil)
	c.wantErr(err, objstore.ErrNotFound, "Copy from a missing key")
	c.content("dst", []byte("dst"), d.ETag)
	_, err = c.s.Copy(c.ctx, "new", "missing", &objstore.CopyOptions{IfAbsent: true})
	c.wantErr(err, objstore.ErrNotFound, "Copy IfAbsent from a missing key")
	c.missing("new")
}

// C3: IfAbsent on an existing dst gives ErrExists.
func caseCopyIfAbsent(c *C) {
	c.put("src", []byte("src"), nil)
	d := c.put("dst", []byte("dst"), nil)
	_, err := c.s.Copy(c.ctx, "dst", "src", &objstore.CopyOptions{IfAbsent: true})
	c.wantErr(err, objstore.ErrExists, "Copy IfAbsent over an existing dst")
	c.content("dst", []byte("dst"), d.ETag)
	_, err = c.s.Copy(c.ctx, "new", "src", &objstore.CopyOptions{IfAbsent: true})
	c.ok(err, "Copy IfAbsent to a new key")
	c.content("new", []byte("src"), "")
}

// C3: of racing IfAbsent copies to one dst, exactly one wins.
func caseCopyIfAbsentRace(c *C) {
	n := c.r.h.Racers
	for i := range n {
		c.put(fmt.Sprint("src", i), []byte(fmt.Sprint("source ", i)), nil)
	}
	errs := make([]error, n)
	attrs := make([]objstore.Attrs, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			attrs[i], errs[i] = c.s.Copy(c.ctx, "dst", fmt.Sprint("src", i), &objstore.CopyOptions{IfAbsent: true})
		})
	}
	wg.Wait()
	c.oneWinner(errs, objstore.ErrExists, func(w int) { c.content("dst", []byte(fmt.Sprint("source ", w)), attrs[w].ETag) })
}

// C4: IfMatch is checked against src's ETag.
func caseCopyIfMatch(c *C) {
	old := c.put("src", []byte("one"), nil)
	cur := c.put("src", []byte("two"), nil)
	_, err := c.s.Copy(c.ctx, "dst", "src", &objstore.CopyOptions{IfMatch: old.ETag})
	c.wantErr(err, objstore.ErrPrecondition, "Copy IfMatch a stale src ETag")
	c.missing("dst")
	_, err = c.s.Copy(c.ctx, "dst", "src", &objstore.CopyOptions{IfMatch: cur.ETag})
	c.ok(err, "Copy IfMatch the current src ETag")
	c.content("dst", []byte("two"), "")
	_, err = c.s.Copy(c.ctx, "dst2", "src", &objstore.CopyOptions{IfMatch: cur.ETag, IfAbsent: true})
	c.ok(err, "Copy IfMatch and IfAbsent")
	_, err = c.s.Copy(c.ctx, "dst2", "src", &objstore.CopyOptions{IfMatch: cur.ETag, IfAbsent: true})
	c.wantErr(err, objstore.ErrExists, "Copy IfMatch and IfAbsent over an existing dst")
}

// C5: a copy onto itself is invalid.
func caseCopySameKey(c *C) {
	a := c.put("k", []byte("x"), nil)
	_, err := c.s.Copy(c.ctx, "k", "k", nil)
	c.wantErr(err, objstore.ErrInvalidArgument, "Copy(k, k)")
	c.content("k", []byte("x"), a.ETag)
}

// C6: copy holds above the multipart thresholds.
func caseCopyLarge(c *C) {
	for _, n := range c.r.h.LargeSizes {
		opts := c.r.h.LargePut
		opts.ContentType = "application/x-large"
		opts.Metadata = map[string]string{"size": fmt.Sprint(n)}
		src, err := c.s.Put(c.ctx, "src", genReader(20, n), &opts)
		c.ok(err, fmt.Sprintf("Put of %d bytes", n))
		a, err := c.s.Copy(c.ctx, "dst", "src", &objstore.CopyOptions{IfMatch: src.ETag})
		c.ok(err, fmt.Sprintf("Copy of %d bytes", n))
		st := c.stat("dst")
		if a.Size != n || st.Size != n || st.ETag != a.ETag || st.ContentType != opts.ContentType || !maps.Equal(st.Metadata, opts.Metadata) {
			c.Errorf("a large copy returned %+v; Stat says %+v", a, st)
		}
		c.sameStream("dst", 20, n)
		_, err = c.s.Copy(c.ctx, "dst", "src", &objstore.CopyOptions{IfAbsent: true})
		c.wantErr(err, objstore.ErrExists, "large Copy IfAbsent over an existing dst")
		_, err = c.s.Copy(c.ctx, "dst2", "src", &objstore.CopyOptions{IfMatch: `"objstore-stale-etag"`})
		c.wantErr(err, objstore.ErrPrecondition, "large Copy IfMatch a stale ETag")
		c.missing("dst2")
		for _, k := range []string{"src", "dst"} {
			c.ok(c.s.Delete(c.ctx, k), "Delete")
		}
	}
}
