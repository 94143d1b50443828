package conformance

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/driver"
)

// M1: metadata keys come back lowercase, values exactly.
func caseMetadata(c *C) {
	in := map[string]string{"Color": "blue", "author_Name": "Ann Lee", "x1": "v=1; a,b", "big": strings.Repeat("v", 900)}
	want := map[string]string{"color": "blue", "author_name": "Ann Lee", "x1": "v=1; a,b", "big": strings.Repeat("v", 900)}
	a := c.put("m", []byte("m"), &objstore.PutOptions{Metadata: in})
	if !maps.Equal(a.Metadata, want) {
		c.Errorf("Put returned Metadata %q, want %q", a.Metadata, want)
	}
	if st := c.stat("m"); !maps.Equal(st.Metadata, want) {
		c.Errorf("Stat returned Metadata %q, want %q", st.Metadata, want)
	}
	if _, r := c.read("m", nil); !maps.Equal(r.Attrs.Metadata, want) {
		c.Errorf("Get returned Metadata %q, want %q", r.Attrs.Metadata, want)
	}
	// Exactly the limit is accepted.
	full := map[string]string{"k": strings.Repeat("v", driver.MaxMetadataSize-driver.MetadataKeyOverhead-1)}
	if st := c.put("full", nil, &objstore.PutOptions{Metadata: full}); !maps.Equal(st.Metadata, full) {
		c.Errorf("metadata of exactly %d bytes did not round-trip", driver.MaxMetadataSize)
	}
	if st := c.put("none", nil, nil); st.Metadata != nil {
		c.Errorf("Put without metadata returned Metadata %q, want nil", st.Metadata)
	}
}

// M1: invalid metadata is rejected, and nothing is written.
func caseInvalidMetadata(c *C) {
	bad := []map[string]string{
		{"1abc": "v"}, {"_a": "v"}, {"a-b": "v"}, {"a.b": "v"}, {"": "v"}, {"caf\u00e9": "v"},
		{"k": "caf\u00e9"}, {"k": "a\nb"}, {"k": "a\x7f"}, {"K": "1", "k": "2"},
		{"k": strings.Repeat("v", driver.MaxMetadataSize-driver.MetadataKeyOverhead)},
	}
	for _, m := range bad {
		_, err := c.s.Put(c.ctx, "bad", strings.NewReader("x"), &objstore.PutOptions{Metadata: m})
		c.wantErr(err, objstore.ErrInvalidArgument, fmt.Sprintf("Put with metadata %.60q", m))
	}
	c.missing("bad")
}

// M3: metadata that other tools wrote, which M1 would not write, is read
// back with its keys lowercased and its values as they were written, and
// Copy carries it; a Put of it through the default store is refused.
func caseForeignMetadata(c *C) {
	n := c.native(true)
	in := map[string]string{"my-key": "v1", "Upper_Case": "V2", "dot.ted": "v3"}
	want := map[string]string{"my-key": "v1", "upper_case": "V2", "dot.ted": "v3"}
	_, err := n.Put(c.ctx, "m", strings.NewReader("m"), &objstore.PutOptions{Metadata: in})
	held := err == nil // the backend holds "my-key"
	if errors.Is(err, objstore.ErrInvalidArgument) {
		// The backend holds identifiers only (Azure).
		c.Logf("the backend does not hold metadata keys with \"-\" or \".\": %v", err)
		in, want = map[string]string{"Upper_Case": "V2"}, map[string]string{"upper_case": "V2"}
		_, err = n.Put(c.ctx, "m", strings.NewReader("m"), &objstore.PutOptions{Metadata: in})
	}
	c.ok(err, "Put with foreign metadata through the keys=native store")
	if st := c.stat("m"); !maps.Equal(st.Metadata, want) {
		c.Errorf("Stat returned Metadata %q, want %q", st.Metadata, want)
	}
	if _, r := c.read("m", nil); !maps.Equal(r.Attrs.Metadata, want) {
		c.Errorf("Get returned Metadata %q, want %q", r.Attrs.Metadata, want)
	}
	cp, err := c.s.Copy(c.ctx, "copied", "m", nil)
	c.ok(err, "Copy of an object with foreign metadata")
	if !maps.Equal(cp.Metadata, want) {
		c.Errorf("Copy returned Metadata %q, want %q", cp.Metadata, want)
	}
	if st := c.stat("copied"); !maps.Equal(st.Metadata, want) {
		c.Errorf("the copy has Metadata %q, want %q", st.Metadata, want)
	}
	_, err = c.s.Put(c.ctx, "bad", strings.NewReader("x"), &objstore.PutOptions{Metadata: map[string]string{"my-key": "v"}})
	if c.wantErr(err, objstore.ErrInvalidArgument, "Put with metadata key \"my-key\" through the default store") &&
		held && !strings.Contains(err.Error(), driver.KeysParam+"=native") {
		c.Errorf("Put with metadata key \"my-key\" through the default store: the error does not point to %s=native: %v", driver.KeysParam, err)
	}
	_, err = n.Put(c.ctx, "bad", strings.NewReader("x"), &objstore.PutOptions{Metadata: map[string]string{"k": "a\nb"}})
	c.wantErr(err, objstore.ErrInvalidArgument, "Put with a metadata value holding a newline through the keys=native store")
	c.missing("bad")
}

// M2: ContentType is returned verbatim, defaults to
// application/octet-stream, and is never sniffed.
func caseContentType(c *C) {
	for _, ct := range []string{"text/plain; charset=utf-8", "application/x.custom+json; v=2", "IMAGE/PNG"} {
		a := c.put("ct", []byte("x"), &objstore.PutOptions{ContentType: ct})
		st := c.stat("ct")
		_, r := c.read("ct", nil)
		if a.ContentType != ct || st.ContentType != ct || r.Attrs.ContentType != ct {
			c.Errorf("ContentType %q came back as %q (Put), %q (Stat), %q (Get)", ct, a.ContentType, st.ContentType, r.Attrs.ContentType)
		}
	}
	a := c.put("html", []byte("<!DOCTYPE html><html><body>hi</body></html>"), nil)
	if st := c.stat("html"); a.ContentType != driver.DefaultContentType || st.ContentType != driver.DefaultContentType {
		c.Errorf("an unset ContentType came back as %q (Put), %q (Stat), want %q", a.ContentType, st.ContentType, driver.DefaultContentType)
	}
}

// P1: a body that fails midway leaves the previous state.
func caseFailedBody(c *C) {
	old := c.put("k", []byte("old"), nil)
	body := &failingReader{r: bytes.NewReader(gen(1, 10000)), n: 5000}
	_, err := c.s.Put(c.ctx, "k", body, nil)
	if err == nil {
		c.Fatalf("Put with a failing body returned no error")
	}
	c.content("k", []byte("old"), old.ETag)

	_, err = c.s.Put(c.ctx, "new", &failingReader{r: bytes.NewReader(gen(1, 10000)), n: 5000}, nil)
	if err == nil {
		c.Fatalf("Put with a failing body returned no error")
	}
	c.missing("new")
}

// P1: a context cancelled while the body is read leaves the previous state.
func caseCancelledBody(c *C) {
	old := c.put("k", []byte("old"), nil)
	for _, key := range []string{"k", "new"} {
		ctx, cancel := context.WithCancel(c.ctx)
		body := &cancellingReader{r: bytes.NewReader(gen(2, 100000)), n: 50000, cancel: cancel}
		_, err := c.s.Put(ctx, key, body, nil)
		cancel()
		c.wantErr(err, context.Canceled, fmt.Sprintf("Put(%q) cancelled midway", key))
	}
	c.content("k", []byte("old"), old.ETag)
	c.missing("new")
}

// P1: while a key is overwritten, readers see one whole object or the
// other.
func caseAtomicReaders(c *C) {
	a := bytes.Repeat([]byte{'a'}, 64<<10)
	b := bytes.Repeat([]byte{'b'}, 96<<10)
	c.put("k", a, nil)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for reads := 0; ; reads++ {
			select {
			case <-done:
				return
			default:
			}
			r, err := c.s.Get(c.ctx, "k", nil)
			if err != nil {
				c.Errorf("Get during overwrites: %v", err)
				return
			}
			var buf bytes.Buffer
			_, err = buf.ReadFrom(r)
			r.Close()
			got := buf.Bytes()
			if err != nil || !(bytes.Equal(got, a) || bytes.Equal(got, b)) || int64(len(got)) != r.Attrs.Size {
				c.Errorf("a reader during overwrites saw %d bytes (Size %d, err %v), neither whole object", len(got), r.Attrs.Size, err)
				return
			}
		}
	}()
	for i := range 20 {
		data := a
		if i%2 == 0 {
			data = b
		}
		if _, err := c.s.Put(c.ctx, "k", bytes.NewReader(data), nil); err != nil {
			c.Errorf("overwrite %d: %v", i, err)
			break
		}
	}
	close(done)
	wg.Wait()
}

// P2: Put returns the attributes Stat returns.
func casePutAttrs(c *C) {
	start := time.Now()
	a := c.put("k", []byte("hello"), &objstore.PutOptions{ContentType: "text/plain", Metadata: map[string]string{"a": "b"}})
	elapsed := time.Since(start)
	c.validETag("Put", a.ETag)
	if a.Key != "k" || a.Size != 5 || a.ModTime.IsZero() || a.ContentType != "text/plain" || !maps.Equal(a.Metadata, map[string]string{"a": "b"}) {
		c.Errorf("Put returned %+v", a)
	}
	st := c.stat("k")
	if st.Size != a.Size || st.ETag != a.ETag || st.ContentType != a.ContentType || !maps.Equal(st.Metadata, a.Metadata) {
		c.Errorf("Stat returned %+v, Put returned %+v", st, a)
	}
	// S3 does not return the stored time from a PUT; drivers take the
	// response's Date, which may differ from Last-Modified by the time the
	// request took, rounded to whole seconds.
	if !within(st.ModTime, a.ModTime, elapsed+time.Second) {
		c.Errorf("Stat's ModTime %v is not within %v of Put's %v", st.ModTime, elapsed+time.Second, a.ModTime)
	}
	if !within(st.ModTime, time.Now(), 10*time.Minute) {
		c.Errorf("ModTime %v is far from this machine's clock", st.ModTime)
	}
}

// P3: an overwrite with different content changes the ETag.
func caseOverwriteETag(c *C) {
	a := c.put("k", []byte("one"), nil)
	b := c.put("k", []byte("two"), nil)
	if a.ETag == b.ETag {
		c.Errorf("overwriting changed nothing in the ETag %s", a.ETag)
	}
	if st := c.stat("k"); st.ETag != b.ETag {
		c.Errorf("Stat's ETag %s, want the last Put's %s", st.ETag, b.ETag)
	}
}

// P4: IfAbsent on an existing key fails and changes nothing.
func caseIfAbsent(c *C) {
	a := c.put("k", []byte("first"), &objstore.PutOptions{IfAbsent: true})
	_, err := c.s.Put(c.ctx, "k", strings.NewReader("second"), &objstore.PutOptions{IfAbsent: true})
	c.wantErr(err, objstore.ErrExists, "Put IfAbsent over an existing key")
	c.content("k", []byte("first"), a.ETag)
	created, err := objstore.PutIfAbsent(c.ctx, c.s, "k", strings.NewReader("third"), nil)
	c.ok(err, "PutIfAbsent over an existing key")
	if created {
		c.Errorf("PutIfAbsent over an existing key reported created")
	}
	created, err = objstore.PutIfAbsent(c.ctx, c.s, "k2", strings.NewReader("new"), nil)
	c.ok(err, "PutIfAbsent of a new key")
	if !created {
		c.Errorf("PutIfAbsent of a new key reported not created")
	}
}

// P4: of N concurrent IfAbsent puts to one key, exactly one wins.
func caseIfAbsentRace(c *C) {
	n := c.r.h.Racers
	errs := make([]error, n)
	attrs := make([]objstore.Attrs, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			attrs[i], errs[i] = c.s.Put(c.ctx, "k", strings.NewReader(fmt.Sprint("racer ", i)), &objstore.PutOptions{IfAbsent: true})
		})
	}
	wg.Wait()
	c.oneWinner(errs, objstore.ErrExists, func(w int) { c.content("k", []byte(fmt.Sprint("racer ", w)), attrs[w].ETag) })
}

// oneWinner checks that exactly one of errs is nil and the rest are lose.
func (c *C) oneWinner(errs []error, lose error, check func(winner int)) {
	c.Helper()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			c.Fatalf("racers %d and %d both won", winner, i)
		case err == nil:
			winner = i
		default:
			c.wantErr(err, lose, fmt.Sprintf("racer %d", i))
		}
	}
	if winner < 0 {
		c.Fatalf("no racer won")
	}
	check(winner)
}

// P5: IfMatch succeeds on the current ETag only.
func caseIfMatch(c *C) {
	a := c.put("k", []byte("one"), nil)
	b, err := c.s.Put(c.ctx, "k", strings.NewReader("two"), &objstore.PutOptions{IfMatch: a.ETag})
	c.ok(err, "Put IfMatch the current ETag")
	_, err = c.s.Put(c.ctx, "k", strings.NewReader("three"), &objstore.PutOptions{IfMatch: a.ETag})
	c.wantErr(err, objstore.ErrPrecondition, "Put IfMatch a stale ETag")
	c.content("k", []byte("two"), b.ETag)
	_, err = c.s.Put(c.ctx, "missing", strings.NewReader("x"), &objstore.PutOptions{IfMatch: a.ETag})
	c.wantErr(err, objstore.ErrPrecondition, "Put IfMatch on a missing key")
	c.missing("missing")
	_, err = c.s.Put(c.ctx, "k", strings.NewReader("x"), &objstore.PutOptions{IfMatch: b.ETag, IfAbsent: true})
	c.wantErr(err, objstore.ErrInvalidArgument, "Put with IfAbsent and IfMatch")
	_, err = c.s.Put(c.ctx, "k", strings.NewReader("x"), &objstore.PutOptions{IfMatch: strings.Trim(b.ETag, `"`)})
	c.wantErr(err, objstore.ErrInvalidArgument, "Put IfMatch an unquoted ETag")
	c.content("k", []byte("two"), b.ETag)
}

// P5: of N concurrent puts IfMatch the same ETag, exactly one wins: the
// check and the write are one step.
func caseIfMatchRace(c *C) {
	base := c.put("k", []byte("base"), nil)
	n := c.r.h.Racers
	errs := make([]error, n)
	attrs := make([]objstore.Attrs, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			attrs[i], errs[i] = c.s.Put(c.ctx, "k", strings.NewReader(fmt.Sprint("racer ", i)), &objstore.PutOptions{IfMatch: base.ETag})
		})
	}
	wg.Wait()
	c.oneWinner(errs, objstore.ErrPrecondition, func(w int) { c.content("k", []byte(fmt.Sprint("racer ", w)), attrs[w].ETag) })
}

// P6: zero-byte objects work everywhere.
func caseZeroByte(c *C) {
	a := c.put("empty", nil, nil)
	if a.Size != 0 {
		c.Errorf("Put of zero bytes returned Size %d", a.Size)
	}
	c.validETag("Put of zero bytes", a.ETag)
	if st := c.stat("empty"); st.Size != 0 || st.ETag != a.ETag {
		c.Errorf("Stat of a zero-byte object: %+v", st)
	}
	c.content("empty", nil, a.ETag)
	created, err := objstore.PutIfAbsent(c.ctx, c.s, "empty2", bytes.NewReader(nil), nil)
	c.ok(err, "PutIfAbsent of zero bytes")
	if !created {
		c.Errorf("PutIfAbsent of zero bytes to a new key reported not created")
	}
	_, err = c.s.Put(c.ctx, "empty2", nil, &objstore.PutOptions{IfAbsent: true})
	c.wantErr(err, objstore.ErrExists, "Put IfAbsent of zero bytes over a zero-byte object")
}

// P7: P1 to P5 hold for bodies above the multipart threshold, streamed
// with no known size.
func caseLarge(c *C) {
	for _, n := range c.r.h.LargeSizes {
		key := fmt.Sprintf("large-%d", n)
		opts := c.r.h.LargePut
		a, err := c.s.Put(c.ctx, key, genReader(10, n), &opts)
		c.ok(err, fmt.Sprintf("Put of %d bytes", n))
		if a.Size != n {
			c.Errorf("Put of %d bytes returned Size %d", n, a.Size)
		}
		c.validETag("large Put", a.ETag)
		st := c.stat(key)
		if st.Size != n || st.ETag != a.ETag {
			c.Errorf("Stat after a large Put: Size %d ETag %s, want %d %s", st.Size, st.ETag, n, a.ETag)
		}
		c.sameStream(key, 10, n)

		// A range from the middle.
		mid := n / 2
		got, r := c.read(key, &objstore.GetOptions{Range: &objstore.Range{Offset: mid, Length: 1 << 20}})
		if want := genRange(10, n, mid, 1<<20); !bytes.Equal(got, want) || r.Offset != mid {
			c.Errorf("a 1 MiB range at %d of a large object differs", mid)
		}

		ifAbsent := opts
		ifAbsent.IfAbsent = true
		_, err = c.s.Put(c.ctx, key, genReader(11, n), &ifAbsent)
		c.wantErr(err, objstore.ErrExists, "large Put IfAbsent over an existing key")

		stale := opts
		stale.IfMatch = `"objstore-stale-etag"`
		_, err = c.s.Put(c.ctx, key, genReader(12, n), &stale)
		c.wantErr(err, objstore.ErrPrecondition, "large Put IfMatch a stale ETag")
		if st := c.stat(key); st.ETag != a.ETag {
			c.Errorf("a failed conditional large Put changed the ETag from %s to %s", a.ETag, st.ETag)
		}
		c.sameStream(key, 10, n)

		match := opts
		match.IfMatch = a.ETag
		b, err := c.s.Put(c.ctx, key, genReader(13, n), &match)
		c.ok(err, "large Put IfMatch the current ETag")
		c.sameStream(key, 13, n)

		_, err = c.s.Put(c.ctx, key, &failingReader{r: genReader(14, n), n: n - 1<<20}, &opts)
		if err == nil {
			c.Errorf("a large Put whose body failed returned no error")
		}
		if st := c.stat(key); st.ETag != b.ETag {
			c.Errorf("a failed large Put changed the ETag from %s to %s", b.ETag, st.ETag)
		}
		c.ok(c.s.Delete(c.ctx, key), "Delete")
	}
}

// P9: a body with ReadAt and Size is stored as its bytes [0, Size), in
// one request and above the multipart threshold; one that has been read
// from is stored from where it is.
func caseReaderAtBody(c *C) {
	a := c.put("small", nil, nil) // the key exists: the Put replaces it
	_, err := c.s.Put(c.ctx, "small", pattern(40, 5000), nil)
	c.ok(err, "Put of a 5000-byte *io.SectionReader")
	c.sameReader("small", pattern(40, 5000), 5000)
	if st := c.stat("small"); st.Size != 5000 || st.ETag == a.ETag {
		c.Errorf("after a Put of 5000 bytes with ReadAt, Stat says %+v", st)
	}

	// Read from already: the rest is stored, as with any reader.
	data := gen(43, 4000)
	br := bytes.NewReader(data)
	io.CopyN(io.Discard, br, 1000)
	_, err = c.s.Put(c.ctx, "rest", br, nil)
	c.ok(err, "Put of a *bytes.Reader read 1000 bytes into")
	c.content("rest", data[1000:], "")
	sr := pattern(44, 4000)
	io.CopyN(io.Discard, sr, 1000)
	_, err = c.s.Put(c.ctx, "rest2", sr, nil)
	c.ok(err, "Put of an *io.SectionReader read 1000 bytes into")
	c.sameReader("rest2", io.NewSectionReader(patternAt{44}, 1000, 3000), 3000)

	n := slices.Min(c.r.h.LargeSizes)
	opts := c.r.h.LargePut
	b, err := c.s.Put(c.ctx, "large", pattern(41, n), &opts)
	c.ok(err, fmt.Sprintf("Put of a %d-byte *io.SectionReader", n))
	if b.Size != n {
		c.Errorf("Put of a %d-byte *io.SectionReader returned Size %d", n, b.Size)
	}
	c.sameReader("large", pattern(41, n), n)
	// A conditional Put with ReadAt keeps P4 and P5.
	ifAbsent := opts
	ifAbsent.IfAbsent = true
	_, err = c.s.Put(c.ctx, "large", pattern(42, n), &ifAbsent)
	c.wantErr(err, objstore.ErrExists, "Put IfAbsent of a large *io.SectionReader over an existing key")
	stale := opts
	stale.IfMatch = `"objstore-stale-etag"`
	_, err = c.s.Put(c.ctx, "large", pattern(42, n), &stale)
	c.wantErr(err, objstore.ErrPrecondition, "Put IfMatch a stale ETag of a large *io.SectionReader")
	if st := c.stat("large"); st.ETag != b.ETag {
		c.Errorf("failed conditional Puts with ReadAt changed the ETag from %s to %s", b.ETag, st.ETag)
	}
	c.ok(c.s.Delete(c.ctx, "large"), "Delete")
}

// P10: a multipart put whose commit was stored and its answer lost
// succeeds, conditional or not: the resent commit that meets the put's
// own write is not a failure.
func caseLostCommitAnswer(c *C) {
	if c.r.h.LoseAnswer == nil {
		c.Logf("the Harness has no LoseAnswer: no answer of this store can be lost")
		return
	}
	s, lose, err := c.r.h.LoseAnswer(c.ctx, c.dir)
	c.ok(err, "opening the store through Harness.LoseAnswer")
	defer s.Close()
	n := slices.Min(c.r.h.LargeSizes)
	put := func(what, key string, seed uint64, o objstore.PutOptions) objstore.Attrs {
		c.Helper()
		lose(key)
		a, err := s.Put(c.ctx, key, genReader(seed, n), &o)
		c.ok(err, what+" whose commit was stored and its answer lost")
		if a.Size != n {
			c.Errorf("%s returned Size %d, want %d", what, a.Size, n)
		}
		c.validETag(what, a.ETag)
		if st := c.stat(key); st.ETag != a.ETag || st.Size != n {
			c.Errorf("Stat after %s: Size %d ETag %s, want %d %s", what, st.Size, st.ETag, n, a.ETag)
		}
		c.sameStream(key, seed, n)
		return a
	}
	o := c.r.h.LargePut
	a := put("a large Put", "lost", 20, o)

	ifAbsent := o
	ifAbsent.IfAbsent = true
	put("a large Put IfAbsent", "lost-if-absent", 21, ifAbsent)

	ifMatch := o
	ifMatch.IfMatch = a.ETag
	put("a large Put IfMatch", "lost", 22, ifMatch)
}
