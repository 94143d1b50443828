// Package gocloud connects objstore and gocloud.dev/blob in both
// directions.
//
// The bridge opens any gocloud.dev/blob bucket as an objstore.Store: the
// URL schemes gocloud+mem, gocloud+file, gocloud+s3, gocloud+azblob and
// gocloud+gs hand the rest of the URL to blob.OpenBucket (the app imports
// the gocloud driver, such as gocloud.dev/blob/s3blob), and Wrap adapts a
// *blob.Bucket the app already has. The bridge keeps objstore's contract
// where gocloud can express it: keys and options are validated by
// the portable store before any request, errors carry objstore's classes
// with the gocloud (and SDK) error reachable through errors.As, ETags are
// quoted. Where gocloud cannot express a rule atomically (IfMatch on Put,
// IfMatch and IfNoneMatch on Get, conditional Copy) the bridge returns
// ErrUnsupported rather than emulate it with a check-then-act race. See
// docs/GOCLOUD.md for the rule-by-rule report.
//
// The reverse adapter, NewBucket, serves any objstore.Store as a
// *blob.Bucket, so code written against gocloud.dev/blob can use objstore's
// drivers.
package gocloud

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"time"

	"gocloud.dev/blob"

	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/driver"
)

// DefaultDriver is the Driver name of a wrapped bucket's errors when
// Options.Driver is empty.
const DefaultDriver = "gocloud"

// Options adjust Wrap. A nil *Options means the zero value.
type Options struct {
	// Driver names the store in errors (objstore.Error.Driver). Empty means
	// "gocloud".
	Driver string
	// Prefix is a key prefix, as a URL path is for the other drivers: "" or
	// a valid key, with or without a trailing "/".
	Prefix string
	// AtomicIfNotExist declares that the bucket's gocloud driver checks
	// blob.WriterOptions.IfNotExist atomically on the server, which
	// PutOptions.IfAbsent needs. Without it IfAbsent gives ErrUnsupported.
	// memblob, s3blob, azureblob and gcsblob of gocloud.dev v0.49.0 do;
	// fileblob does not (it checks with os.Stat, then renames).
	AtomicIfNotExist bool
	// Keys is the rule for the keys Put and Copy create, like the keys=
	// URL parameter: objstore.KeysPortable (the zero value, rule K1) or
	// objstore.KeysNative, any key KeyRules allow (rule K4).
	Keys objstore.KeyMode
	// KeyRules are the keys the bucket's gocloud driver stores under
	// their own name, which Stat, Get, Delete and Copy's src accept
	// (rule K3). Nil means the keys every gocloud driver stores under
	// their own name: relative paths with no empty, "." or ".." segment
	// and no segment ending in "."; docs/GOCLOUD.md gives the rules of
	// each driver.
	KeyRules *driver.KeyRules
}

// The keys each gocloud driver of gocloud.dev v0.47.0 stores under their
// own name, read from its source and checked by the conformance suite
// (rule K3). gocloud.dev/blob accepts any valid UTF-8; each driver then
// escapes what its service cannot hold (s3blob control characters and
// "../"; azureblob also `\ " # % ?` and a trailing "/"; fileblob "//" and
// a trailing "/"; gcsblob CR and LF) and unescapes it when it lists, so
// such keys round-trip through gocloud, though another tool sees them
// escaped. What is refused here a driver would store under another
// key's name.
var (
	// memblob, s3blob on AWS, gcsblob: anything up to 1024 bytes.
	anyKeyRules = driver.KeyRules{Backend: "gocloud.dev/blob", MaxLen: driver.MaxKeyLen}
	// s3blob at an endpoint=: the server may store "/a" as "a" (MinIO),
	// and "a//b" or "a/./b" as "a/b" (versitygw).
	s3ServerKeyRules = driver.KeyRules{Backend: "gocloud.dev/blob/s3blob", MaxLen: driver.MaxKeyLen, NoLeadingSlash: true, CleanSegments: true}
	// azureblob: the service strips a dot that ends a segment.
	azureKeyRules = driver.KeyRules{Backend: "gocloud.dev/blob/azureblob", MaxLen: 1024, UTF16: true, NoDotEnd: true}
	// fileblob: "a/./b" is the file a/b, and "/a" the file a.
	fileKeyRules = driver.KeyRules{Backend: "gocloud.dev/blob/fileblob", MaxLen: driver.MaxKeyLen, NoLeadingSlash: true, NoTrailingSlash: true, CleanSegments: true, MaxSegment: 255}
	// wrapKeyRules are the KeyRules of a wrapped bucket whose Options do
	// not say: keys that every gocloud driver stores under their own name.
	wrapKeyRules = driver.KeyRules{Backend: "gocloud.dev/blob", MaxLen: driver.MaxKeyLen, NoLeadingSlash: true, NoTrailingSlash: true, CleanSegments: true, NoDotEnd: true, MaxSegment: 255}
)

// schemeKeyRules are the KeyRules of each scheme OpenURL opens.
var schemeKeyRules = map[string]driver.KeyRules{
	"mem": anyKeyRules, "s3": anyKeyRules, "gs": anyKeyRules, "azblob": azureKeyRules, "file": fileKeyRules,
}

// bridge is the driver.Bucket over a gocloud.dev *blob.Bucket; the
// portable store over it (objstore.NewStore) validates, wraps errors and
// counts progress. It is safe for concurrent use, as *blob.Bucket is.
type bridge struct {
	b        *blob.Bucket
	scheme   string
	rules    driver.KeyRules
	native   bool
	ifAbsent bool // the driver honours IfNotExist atomically
	owns     bool // Close closes b
}

// Wrap returns a Store over b. The Store does not own b: its Close leaves b
// open for the caller to close. An invalid Options.Prefix gives
// ErrInvalidArgument.
func Wrap(b *blob.Bucket, opts *Options) (objstore.Store, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Driver == "" {
		o.Driver = DefaultDriver
	}
	if msg := driver.CheckKeyMode(o.Keys); msg != "" {
		return nil, invalidFor(o.Driver, msg)
	}
	br := &bridge{b: b, scheme: o.Driver, rules: wrapKeyRules, native: o.Keys == objstore.KeysNative, ifAbsent: o.AtomicIfNotExist}
	if o.KeyRules != nil {
		br.rules = *o.KeyRules
	}
	return objstore.NewStore(br, o.Prefix)
}

// Info says what the wrapped driver can address; gocloud has no
// conditional read, so the portable store refuses IfMatch and
// IfNoneMatch on Get and does not resume a broken read.
func (s *bridge) Info() driver.Info {
	return driver.Info{Scheme: s.scheme, Rules: s.rules, Native: s.native, NoConditionalGet: true}
}

func attrs(key string, a *blob.Attributes) driver.Attrs {
	return driver.Attrs{
		Key:         key,
		Size:        a.Size,
		ETag:        driver.QuoteETag(a.ETag),
		ModTime:     a.ModTime,
		ContentType: a.ContentType,
		Metadata:    driver.NormalizeMetadata(a.Metadata),
	}
}

// Stat returns the attributes of the object at key: one Attributes call.
func (s *bridge) Stat(ctx context.Context, key string) (driver.Attrs, error) {
	a, err := s.b.Attributes(ctx, key)
	if err != nil {
		return driver.Attrs{}, s.fail(ctx, err)
	}
	return attrs(key, a), nil
}

// getAttempts bounds how often Get retries when the object changes between
// its Attributes call and its read.
const getAttempts = 5

// Get opens the object at key. gocloud's reader carries no ETag or
// metadata, so Get asks for the attributes first, then reads the range,
// and checks that the reader saw the same version (size and modification
// time); if not, it starts over, up to five times; under a steady stream
// of overwrites it can still give up, with an error and never with
// mismatched attributes. gocloud has no conditional read (Info says so).
func (s *bridge) Get(ctx context.Context, key string, r driver.GetRequest) (driver.Object, error) {
	for attempt := 1; ; attempt++ {
		a, err := s.b.Attributes(ctx, key)
		if err != nil {
			return driver.Object{}, s.fail(ctx, err)
		}
		offset, length, err := driver.Resolve(r, a.Size)
		if err != nil {
			return driver.Object{}, err
		}
		obj := driver.Object{Attrs: attrs(key, a), Offset: offset, Length: length}
		if length == 0 {
			obj.Body = io.NopCloser(bytes.NewReader(nil))
			return obj, nil
		}
		rr, err := s.b.NewRangeReader(ctx, key, offset, length, nil)
		if err != nil {
			return driver.Object{}, s.fail(ctx, err)
		}
		if rr.Size() == a.Size && sameModTime(rr.ModTime(), a.ModTime) {
			obj.Body = &body{ctx: ctx, r: rr, s: s}
			return obj, nil
		}
		rr.Close()
		if attempt == getAttempts {
			return driver.Object{}, fmt.Errorf("the object changed between reading its attributes and its body, %d times in a row", getAttempts)
		}
	}
}

// sameModTime reports whether a reader's modification time (read) can be
// that of the attributes (attr). A zero read time says nothing. Some
// drivers' readers carry a coarser time than their attributes: gcsblob's
// reader takes it from the Last-Modified header (whole seconds), its
// Attributes from the JSON API's "updated" (milliseconds); a whole-second
// read time therefore matches attr truncated to the second.
func sameModTime(read, attr time.Time) bool {
	return read.IsZero() || read.Equal(attr) ||
		read.Nanosecond() == 0 && read.Equal(attr.Truncate(time.Second))
}

// body serves a gocloud reader, failing once ctx is done: gocloud's
// in-memory and file readers do not watch the context.
type body struct {
	ctx context.Context
	r   *blob.Reader
	s   *bridge
}

func (b *body) Read(p []byte) (int, error) {
	if err := b.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		err = b.s.fail(b.ctx, err)
	}
	return n, err
}

func (b *body) Close() error { return b.r.Close() }

// Put writes body to key through a blob.Writer. A body that fails, or a
// context cancelled while it is read, aborts the writer (its context is
// cancelled before Close, which gocloud drivers take as an abort), so
// nothing is committed. IfAbsent maps to WriterOptions.IfNotExist when the
// driver checks it atomically, else ErrUnsupported; IfMatch gives
// ErrUnsupported. gocloud rewrites a ContentType to canonical form
// (mime.FormatMediaType); one that it would change gives ErrUnsupported
// rather than come back altered. The attributes returned come from an
// Attributes call after the write, since gocloud's writer returns none.
//
// Progress counts the bytes gocloud's writer has taken from the body,
// which may run ahead of what the service has acknowledged by the
// writer's buffers (BufferSize × MaxConcurrency for s3blob and
// azureblob), so that the call with done == size can come before the
// write is committed: gocloud reports nothing finer. Put returning nil is
// what says the object is stored.
func (s *bridge) Put(ctx context.Context, key string, r io.Reader, o driver.PutRequest) (driver.Attrs, error) {
	switch {
	case o.IfMatch != "":
		return driver.Attrs{}, unsupported("IfMatch on Put: gocloud.dev/blob has no conditional overwrite")
	case o.IfAbsent && !s.ifAbsent:
		return driver.Attrs{}, unsupported("IfAbsent on Put: this bucket's gocloud driver does not check IfNotExist atomically")
	}
	ct := o.ContentType
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return driver.Attrs{}, driver.Errorf(driver.ErrInvalidArgument, fmt.Sprintf("ContentType %q is not a media type gocloud accepts: %v", ct, err))
	}
	if canon := mime.FormatMediaType(mt, params); canon != ct {
		return driver.Attrs{}, &driver.Error{Kind: driver.ErrUnsupported,
			Err:  fmt.Errorf("gocloud.dev/blob would store ContentType %q as %q", ct, canon),
			Hint: fmt.Sprintf("pass the canonical form %q", canon)}
	}
	if err := s.write(ctx, key, r, o.Progress, &blob.WriterOptions{
		ContentType:                 ct,
		DisableContentTypeDetection: true,
		Metadata:                    o.Metadata,
		IfNotExist:                  o.IfAbsent,
		BufferSize:                  int(o.PartSize),
		MaxConcurrency:              o.Concurrency,
	}); err != nil {
		return driver.Attrs{}, err
	}
	a, err := s.b.Attributes(ctx, key)
	if err != nil {
		return driver.Attrs{}, s.fail(ctx, err)
	}
	return attrs(key, a), nil
}

// write uploads r to full with blob.Bucket.Upload and commits it, or
// aborts it. A body that fails cancels the upload's context before gocloud
// closes the writer, which gocloud drivers take as an abort (memblob and
// fileblob would otherwise commit what they had buffered). (Before v0.49,
// gocloud azureblob's writer panicked in Close after a failed upload;
// v0.49 fixed it, and the bridge no longer recovers panics, which would
// hide a real bug.)
func (s *bridge) write(ctx context.Context, full string, r io.Reader, prog driver.Progress, wo *blob.WriterOptions) error {
	wctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	body := &abortingReader{r: r, cancel: cancel, prog: prog}
	uerr := s.b.Upload(wctx, full, body, wo)
	switch {
	case body.err != nil:
		return s.fail(ctx, body.err)
	case ctx.Err() != nil:
		return s.fail(ctx, ctx.Err())
	case uerr != nil:
		return s.fail(ctx, uerr)
	}
	return nil
}

// abortingReader cancels the upload's context when the body fails, and
// reports the bytes gocloud reads to prog.
type abortingReader struct {
	r      io.Reader
	cancel context.CancelCauseFunc
	prog   driver.Progress
	err    error
}

func (a *abortingReader) Read(p []byte) (int, error) {
	n, err := a.r.Read(p)
	a.prog.Add(int64(n))
	if err != nil && err != io.EOF {
		a.err = err
		a.cancel(err)
	}
	return n, err
}

// Delete removes the object at key. gocloud reports a missing key as
// NotFound; so does the portable store's Delete of a missing key, nil.
// A missing bucket is ErrBucketNotFound.
func (s *bridge) Delete(ctx context.Context, key string) error {
	return s.fail(ctx, s.b.Delete(ctx, key))
}

// Copy copies src to dst with blob.Bucket.Copy, then reads dst's
// attributes to return them. IfAbsent and IfMatch give ErrUnsupported:
// gocloud's Copy takes no condition. Progress gets (0, -1) before the
// copy and (size, size) after it, as gocloud's Copy reports no size.
func (s *bridge) Copy(ctx context.Context, dst, src string, r driver.CopyRequest) (driver.Attrs, error) {
	if r.IfAbsent || r.IfMatch != "" {
		return driver.Attrs{}, unsupported("IfAbsent and IfMatch on Copy: gocloud.dev/blob's Copy takes no condition")
	}
	r.Progress.Start(-1) // gocloud's Copy tells nothing of the size
	if err := s.b.Copy(ctx, dst, src, nil); err != nil {
		return driver.Attrs{}, s.fail(ctx, err)
	}
	a, err := s.b.Attributes(ctx, dst)
	if err != nil {
		return driver.Attrs{}, s.fail(ctx, err)
	}
	return attrs(dst, a), nil
}

// Close closes the bucket only when the store opened it from a URL; a
// wrapped bucket stays open for its owner.
func (s *bridge) Close() error {
	if !s.owns {
		return nil
	}
	return s.b.Close()
}
