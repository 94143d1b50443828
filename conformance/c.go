package conformance

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"time"

	"github.com/objstore-go/objstore"
)

// C is what a case works with: the T, a context bounded by the case
// timeout, and a store whose keys live under the case's own prefix.
type C struct {
	T
	ctx  context.Context
	s    objstore.Store
	r    *run
	dir  string // the case's prefix from the store's root
	rule string
}

// unsupported ends the case as unsupported, or fails it under RequireAll.
func (c *C) unsupported(what string, err error) {
	c.Helper()
	if c.r.h.RequireAll {
		c.Fatalf("%s: the driver returned ErrUnsupported, but the harness requires rule %s: %v", what, c.rule, err)
	}
	c.Skipf("UNSUPPORTED rule %s: %s: %v", c.rule, what, err)
}

// native opens the store under test in KeysNative mode at prefix (the
// case's own prefix when dir is true, else the store's root), closed when
// the case ends. A harness that cannot open one makes the rule
// unsupported.
func (c *C) native(dir bool) objstore.Store {
	c.Helper()
	prefix := ""
	if dir {
		prefix = c.dir
	}
	s, ok, err := c.r.openNative(c.ctx, prefix)
	if !ok {
		c.unsupported("opening the store with keys=native", errors.New("the Harness sets Open but not OpenNative"))
	}
	c.ok(err, "opening the store with keys=native")
	c.Cleanup(func() { s.Close() })
	return s
}

// ok fails the case if err is not nil.
func (c *C) ok(err error, what string) {
	c.Helper()
	if err == nil {
		return
	}
	if errors.Is(err, objstore.ErrUnsupported) {
		c.unsupported(what, err)
	}
	c.Fatalf("%s: %v", what, err)
}

// wantErr reports whether err is of class want, and records a failure if not.
func (c *C) wantErr(err, want error, what string) bool {
	c.Helper()
	switch {
	case err == nil:
		c.Errorf("%s: got no error, want %v", what, want)
		return false
	case errors.Is(err, objstore.ErrUnsupported) && !errors.Is(want, objstore.ErrUnsupported):
		c.unsupported(what, err)
	case !errors.Is(err, want):
		c.Errorf("%s: got %v, want an error that is %v", what, err, want)
		return false
	}
	return true
}

func (c *C) put(key string, data []byte, opts *objstore.PutOptions) objstore.Attrs {
	c.Helper()
	a, err := c.s.Put(c.ctx, key, bytes.NewReader(data), opts)
	c.ok(err, fmt.Sprintf("Put(%q)", key))
	return a
}

func (c *C) stat(key string) objstore.Attrs {
	c.Helper()
	a, err := c.s.Stat(c.ctx, key)
	c.ok(err, fmt.Sprintf("Stat(%q)", key))
	return a
}

// read gets key (or a range of it) and returns the bytes and the Reader's
// fields, checking that the reader yields exactly Length bytes.
func (c *C) read(key string, opts *objstore.GetOptions) ([]byte, *objstore.Reader) {
	c.Helper()
	r, err := c.s.Get(c.ctx, key, opts)
	c.ok(err, fmt.Sprintf("Get(%q)", key))
	defer r.Close()
	data, err := io.ReadAll(r)
	c.ok(err, fmt.Sprintf("reading %q", key))
	if int64(len(data)) != r.Length {
		c.Errorf("Get(%q): the reader yielded %d bytes, but its Length is %d", key, len(data), r.Length)
	}
	return data, r
}

// content checks that key holds want, with the given ETag if etag != "".
func (c *C) content(key string, want []byte, etag string) {
	c.Helper()
	got, r := c.read(key, nil)
	if !bytes.Equal(got, want) {
		c.Errorf("%q holds %d bytes %.40q, want %d bytes %.40q", key, len(got), got, len(want), want)
	}
	if etag != "" && r.Attrs.ETag != etag {
		c.Errorf("%q has ETag %s, want %s", key, r.Attrs.ETag, etag)
	}
}

func (c *C) missing(key string) {
	c.Helper()
	_, err := c.s.Stat(c.ctx, key)
	c.wantErr(err, objstore.ErrNotFound, fmt.Sprintf("Stat(%q) of a key that should not exist", key))
}

// list collects a listing, failing once it passes limit entries: a server
// whose page token never advances fails the case instead of hanging it.
func (c *C) list(opts objstore.ListOptions, limit int) ([]objstore.Entry, error) {
	c.Helper()
	var out []objstore.Entry
	for e, err := range c.s.List(c.ctx, &opts) {
		if err != nil {
			return out, err
		}
		out = append(out, e)
		if len(out) > limit {
			c.Fatalf("List(%+v) did not end after %d entries; does the page token advance?", opts, limit)
		}
	}
	return out, nil
}

func keysOf(es []objstore.Entry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Key
		if e.IsPrefix {
			out[i] += " (prefix)"
		}
	}
	return out
}

// sameAttrs compares the attributes every read path must agree on.
func (c *C) sameAttrs(what string, got, want objstore.Attrs) {
	c.Helper()
	if got.Key != want.Key || got.Size != want.Size || got.ETag != want.ETag ||
		got.ContentType != want.ContentType || !maps.Equal(got.Metadata, want.Metadata) || !got.ModTime.Equal(want.ModTime) {
		c.Errorf("%s: attributes differ:\n got  %+v\n want %+v", what, got, want)
	}
}

func (c *C) validETag(what, etag string) {
	c.Helper()
	if len(etag) < 3 || etag[0] != '"' || etag[len(etag)-1] != '"' {
		c.Errorf("%s: ETag %q is not a non-empty quoted string", what, etag)
	}
}

// gen returns n deterministic pseudo-random bytes for seed.
func gen(seed uint64, n int64) []byte {
	b := make([]byte, n)
	io.ReadFull(genReader(seed, n), b)
	return b
}

// genReader streams the bytes gen returns, without holding them, and
// without Seek or Len: drivers see a body of unknown size.
func genReader(seed uint64, n int64) io.Reader {
	return struct{ io.Reader }{io.LimitReader(&prng{r: rand.NewChaCha8(seedBytes(seed))}, n)}
}

type prng struct{ r *rand.ChaCha8 }

func (p *prng) Read(b []byte) (int, error) { return p.r.Read(b) }

func seedBytes(seed uint64) [32]byte {
	var s [32]byte
	for i := range 8 {
		s[i] = byte(seed >> (8 * i))
	}
	return s
}

func digest(r io.Reader) ([32]byte, int64, error) {
	h := sha256.New()
	n, err := io.Copy(h, r)
	var d [32]byte
	copy(d[:], h.Sum(nil))
	return d, n, err
}

// sameStream checks that key holds the n bytes of seed, streaming both.
func (c *C) sameStream(key string, seed uint64, n int64) {
	c.Helper()
	c.sameReader(key, genReader(seed, n), n)
}

// sameReader checks that key holds the n bytes want serves, streaming
// both.
func (c *C) sameReader(key string, want io.Reader, n int64) {
	c.Helper()
	r, err := c.s.Get(c.ctx, key, nil)
	c.ok(err, fmt.Sprintf("Get(%q)", key))
	defer r.Close()
	got, gotN, err := digest(r)
	c.ok(err, fmt.Sprintf("reading %q", key))
	wantSum, _, _ := digest(want)
	if gotN != n || got != wantSum {
		c.Errorf("%q holds %d bytes that differ from the %d bytes written", key, gotN, n)
	}
}

// patternAt serves the same bytes as a seekable, concurrent io.ReaderAt,
// computed from the offset rather than held, so that a large body costs no
// memory: byte i is byte i%8 of splitmix64(seed + i/8).
type patternAt struct{ seed uint64 }

func (p patternAt) ReadAt(b []byte, off int64) (int, error) {
	for i := range b {
		pos := uint64(off) + uint64(i)
		b[i] = byte(splitmix64(p.seed+pos/8) >> (8 * (pos % 8)))
	}
	return len(b), nil
}

func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// pattern returns the n bytes of seed as an *io.SectionReader: a body
// that implements io.ReaderAt and Size, as objstore.UploadFile's does.
func pattern(seed uint64, n int64) *io.SectionReader {
	return io.NewSectionReader(patternAt{seed}, 0, n)
}

// failingReader serves n bytes of r, then fails.
type failingReader struct {
	r io.Reader
	n int64
}

var errBodyFailed = errors.New("conformance: the body failed on purpose")

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errBodyFailed
	}
	if int64(len(p)) > f.n {
		p = p[:f.n]
	}
	n, err := f.r.Read(p)
	f.n -= int64(n)
	return n, err
}

// cancellingReader calls cancel once it has served n bytes, then keeps
// serving the rest of r, the way a stream does that knows nothing of the
// context.
type cancellingReader struct {
	r      io.Reader
	n      int64
	cancel context.CancelFunc
}

func (cr *cancellingReader) Read(p []byte) (int, error) {
	if cr.n <= 0 {
		cr.cancel()
	}
	n, err := cr.r.Read(p)
	cr.n -= int64(n)
	return n, err
}

// within reports whether t is within d of want.
func within(t, want time.Time, d time.Duration) bool {
	diff := t.Sub(want)
	return diff <= d && diff >= -d
}

// openMissingBucket opens a store on a bucket that does not exist.
func (c *C) openMissingBucket() objstore.Store {
	c.Helper()
	if c.r.h.MissingBucketURL == "" {
		c.unsupported("opening a missing bucket", errors.New("the Harness has neither URL nor MissingBucketURL"))
	}
	s, err := objstore.Open(c.ctx, withPath(c.r.h.MissingBucketURL, c.dir))
	c.ok(err, "opening a store on a missing bucket")
	return s
}

// genRange returns bytes [off, off+length) of gen(seed, n), streaming to
// them rather than holding all n.
func genRange(seed uint64, n, off, length int64) []byte {
	r := genReader(seed, n)
	io.CopyN(io.Discard, r, off)
	b, _ := io.ReadAll(io.LimitReader(r, length))
	return b
}
