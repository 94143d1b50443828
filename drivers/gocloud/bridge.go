// Package gocloud connects objstore and gocloud.dev/blob in both
// directions.
//
// The bridge opens any gocloud.dev/blob bucket as an objstore.Store: the
// URL schemes gocloud+mem, gocloud+file, gocloud+s3, gocloud+azblob and
// gocloud+gs hand the rest of the URL to blob.OpenBucket (the app imports
// the gocloud driver, such as gocloud.dev/blob/s3blob), and Wrap adapts a
// *blob.Bucket the app already has. The bridge keeps objstore's contract
// where gocloud can express it: keys and options are validated by
// objstore.Namespace before any request, errors carry objstore's classes
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
	"errors"
	"fmt"
	"io"
	"mime"
	"net/url"
	"sync/atomic"
	"time"

	"gocloud.dev/blob"
	"gocloud.dev/gcerrors"

	"github.com/objstore-go/objstore"
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
	KeyRules *objstore.KeyRules
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
	anyKeyRules = objstore.KeyRules{Backend: "gocloud.dev/blob", MaxLen: objstore.MaxKeyLen}
	// s3blob at an endpoint=: the server may store "/a" as "a" (MinIO),
	// and "a//b" or "a/./b" as "a/b" (versitygw).
	s3ServerKeyRules = objstore.KeyRules{Backend: "gocloud.dev/blob/s3blob", MaxLen: objstore.MaxKeyLen, NoLeadingSlash: true, CleanSegments: true}
	// azureblob: the service strips a dot that ends a segment.
	azureKeyRules = objstore.KeyRules{Backend: "gocloud.dev/blob/azureblob", MaxLen: 1024, UTF16: true, NoDotEnd: true}
	// fileblob: "a/./b" is the file a/b, and "/a" the file a.
	fileKeyRules = objstore.KeyRules{Backend: "gocloud.dev/blob/fileblob", MaxLen: objstore.MaxKeyLen, NoLeadingSlash: true, NoTrailingSlash: true, CleanSegments: true, MaxSegment: 255}
	// wrapKeyRules are the KeyRules of a wrapped bucket whose Options do
	// not say: keys that every gocloud driver stores under their own name.
	wrapKeyRules = objstore.KeyRules{Backend: "gocloud.dev/blob", MaxLen: objstore.MaxKeyLen, NoLeadingSlash: true, NoTrailingSlash: true, CleanSegments: true, NoDotEnd: true, MaxSegment: 255}
)

// schemeKeyRules are the KeyRules of each scheme OpenURL opens.
var schemeKeyRules = map[string]objstore.KeyRules{
	"mem": anyKeyRules, "s3": anyKeyRules, "gs": anyKeyRules, "azblob": azureKeyRules, "file": fileKeyRules,
}

// Store is an objstore.Store over a gocloud.dev *blob.Bucket. It is safe
// for concurrent use, as *blob.Bucket is.
type Store struct {
	b        *blob.Bucket
	ns       objstore.Namespace
	ifAbsent bool // the driver honours IfNotExist atomically
	owns     bool // Close closes b
	closed   atomic.Bool
}

var _ objstore.Store = (*Store)(nil)

// Wrap returns a Store over b. The Store does not own b: its Close leaves b
// open for the caller to close. An invalid Options.Prefix gives
// ErrInvalidArgument.
func Wrap(b *blob.Bucket, opts *Options) (*Store, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Driver == "" {
		o.Driver = DefaultDriver
	}
	ns, err := objstore.NewNamespace(o.Driver, &url.URL{Path: o.Prefix})
	if err != nil {
		return nil, err
	}
	if msg := objstore.CheckKeyMode(o.Keys); msg != "" {
		return nil, objstore.InvalidArgument(o.Driver, "open", "", msg)
	}
	ns.Keys, ns.Native = o.Keys, wrapKeyRules
	if o.KeyRules != nil {
		ns.Native = *o.KeyRules
	}
	return &Store{b: b, ns: ns, ifAbsent: o.AtomicIfNotExist}, nil
}

// Bucket returns the *blob.Bucket under s, for what only gocloud offers
// (As, SignedURL).
func (s *Store) Bucket() *blob.Bucket { return s.b }

var errClosed = errors.New("the store is closed")

// begin checks the context and the handle before any request.
func (s *Store) begin(ctx context.Context, op, key string) error {
	if err := ctx.Err(); err != nil {
		return &objstore.Error{Driver: s.ns.Driver, Op: op, Key: key, Err: err}
	}
	if s.closed.Load() {
		return &objstore.Error{Driver: s.ns.Driver, Op: op, Key: key, Err: errClosed}
	}
	return nil
}

func (s *Store) attrs(key string, a *blob.Attributes) objstore.Attrs {
	return objstore.Attrs{
		Key:         key,
		Size:        a.Size,
		ETag:        objstore.QuoteETag(a.ETag),
		ModTime:     a.ModTime,
		ContentType: a.ContentType,
		Metadata:    objstore.NormalizeMetadata(a.Metadata),
	}
}

// Stat returns the attributes of the object at key: one Attributes call.
func (s *Store) Stat(ctx context.Context, key string) (objstore.Attrs, error) {
	full, err := s.ns.Stat(key)
	if err != nil {
		return objstore.Attrs{}, err
	}
	if err := s.begin(ctx, "stat", key); err != nil {
		return objstore.Attrs{}, err
	}
	a, err := s.b.Attributes(ctx, full)
	if err != nil {
		return objstore.Attrs{}, s.fail(ctx, "stat", key, err)
	}
	return s.attrs(key, a), nil
}

// getAttempts bounds how often Get retries when the object changes between
// its Attributes call and its read.
const getAttempts = 5

// Get opens the object at key. gocloud's reader carries no ETag or
// metadata, so Get asks for the attributes first, then reads the range,
// and checks that the reader saw the same version (size and modification
// time); if not, it starts over, up to five times; under a steady stream of overwrites it can still give up, with an error and never with mismatched attributes. IfMatch and
// IfNoneMatch give ErrUnsupported: gocloud has no conditional read.
func (s *Store) Get(ctx context.Context, key string, opts *objstore.GetOptions) (*objstore.Reader, error) {
	full, err := s.ns.Get(key, opts)
	if err != nil {
		return nil, err
	}
	var o objstore.GetOptions
	if opts != nil {
		o = *opts
	}
	if o.IfMatch != "" || o.IfNoneMatch != "" {
		return nil, s.unsupported("get", key, "IfMatch and IfNoneMatch on Get: gocloud.dev/blob has no conditional read")
	}
	if err := s.begin(ctx, "get", key); err != nil {
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		a, err := s.b.Attributes(ctx, full)
		if err != nil {
			return nil, s.fail(ctx, "get", key, err)
		}
		attrs := s.attrs(key, a)
		offset, length, err := s.ns.ResolveRange(key, o.Range, attrs.Size)
		if err != nil {
			return nil, err
		}
		if length == 0 {
			return objstore.NewReader(io.NopCloser(bytes.NewReader(nil)), attrs, offset, 0), nil
		}
		r, err := s.b.NewRangeReader(ctx, full, offset, length, nil)
		if err != nil {
			return nil, s.fail(ctx, "get", key, err)
		}
		if r.Size() == a.Size && sameModTime(r.ModTime(), a.ModTime) {
			return objstore.NewReader(&body{ctx: ctx, r: r, s: s, key: key}, attrs, offset, length), nil
		}
		r.Close()
		if attempt == getAttempts {
			return nil, &objstore.Error{Driver: s.ns.Driver, Op: "get", Key: key,
				Err: fmt.Errorf("the object changed between reading its attributes and its body, %d times in a row", getAttempts)}
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
	s   *Store
	key string
}

func (b *body) Read(p []byte) (int, error) {
	if err := b.ctx.Err(); err != nil {
		return 0, b.s.fail(b.ctx, "get", b.key, err)
	}
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		err = b.s.fail(b.ctx, "get", b.key, err)
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
func (s *Store) Put(ctx context.Context, key string, r io.Reader, opts *objstore.PutOptions) (objstore.Attrs, error) {
	full, err := s.ns.Put(key, opts)
	if err != nil {
		return objstore.Attrs{}, err
	}
	var o objstore.PutOptions
	if opts != nil {
		o = *opts
	}
	switch {
	case o.IfMatch != "":
		return objstore.Attrs{}, s.unsupported("put", key, "IfMatch on Put: gocloud.dev/blob has no conditional overwrite")
	case o.IfAbsent && !s.ifAbsent:
		return objstore.Attrs{}, s.unsupported("put", key, "IfAbsent on Put: this bucket's gocloud driver does not check IfNotExist atomically")
	}
	ct := objstore.ContentTypeOrDefault(o.ContentType)
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return objstore.Attrs{}, objstore.InvalidArgument(s.ns.Driver, "put", key, fmt.Sprintf("ContentType %q is not a media type gocloud accepts: %v", ct, err))
	}
	if canon := mime.FormatMediaType(mt, params); canon != ct {
		return objstore.Attrs{}, &objstore.Error{Driver: s.ns.Driver, Op: "put", Key: key, Kind: objstore.ErrUnsupported,
			Err:  fmt.Errorf("gocloud.dev/blob would store ContentType %q as %q", ct, canon),
			Hint: fmt.Sprintf("pass the canonical form %q", canon)}
	}
	if err := s.begin(ctx, "put", key); err != nil {
		return objstore.Attrs{}, err
	}
	if r == nil {
		r = bytes.NewReader(nil)
	}
	prog := objstore.NewProgress(o.Progress)
	defer prog.Stop()
	prog.Start(bodySize(r))
	if err := s.write(ctx, full, r, prog, &blob.WriterOptions{
		ContentType:                 ct,
		DisableContentTypeDetection: true,
		Metadata:                    objstore.NormalizeMetadata(o.Metadata),
		IfNotExist:                  o.IfAbsent,
		BufferSize:                  int(o.PartSize),
		MaxConcurrency:              o.Concurrency,
	}); err != nil {
		var oe *objstore.Error
		if errors.As(err, &oe) {
			oe.Key = key
			if o.IfAbsent && oe.Kind == objstore.ErrPrecondition {
				oe.Kind = objstore.ErrExists
			}
		}
		return objstore.Attrs{}, err
	}
	a, err := s.b.Attributes(ctx, full)
	if err != nil {
		return objstore.Attrs{}, s.fail(ctx, "put", key, err)
	}
	prog.Finish(a.Size)
	return s.attrs(key, a), nil
}

// bodySize returns the size of a Put body that tells it (Size for a body
// that ReaderAtBody accepts, else Len), or -1.
func bodySize(body io.Reader) int64 {
	if _, n, ok := objstore.ReaderAtBody(body); ok {
		return n
	}
	if l, ok := body.(interface{ Len() int }); ok {
		return int64(l.Len())
	}
	return -1
}

// write uploads r to full with blob.Bucket.Upload and commits it, or
// aborts it. A body that fails cancels the upload's context before gocloud
// closes the writer, which gocloud drivers take as an abort (memblob and
// fileblob would otherwise commit what they had buffered). The error
// returned is an *objstore.Error. (Before v0.49, gocloud azureblob's
// writer panicked in Close after a failed upload; v0.49 fixed it, and the
// bridge no longer recovers panics, which would hide a real bug.)
func (s *Store) write(ctx context.Context, full string, r io.Reader, prog *objstore.Progress, wo *blob.WriterOptions) error {
	wctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	body := &abortingReader{r: r, cancel: cancel, prog: prog}
	uerr := s.b.Upload(wctx, full, body, wo)
	switch {
	case body.err != nil:
		return s.fail(ctx, "put", full, body.err)
	case ctx.Err() != nil:
		return s.fail(ctx, "put", full, ctx.Err())
	case uerr != nil:
		return s.fail(ctx, "put", full, uerr)
	}
	return nil
}

// abortingReader cancels the upload's context when the body fails, and
// reports the bytes gocloud reads to prog.
type abortingReader struct {
	r      io.Reader
	cancel context.CancelCauseFunc
	prog   *objstore.Progress
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
// NotFound; objstore's Delete of a missing key succeeds.
func (s *Store) Delete(ctx context.Context, key string) error {
	full, err := s.ns.Delete(key)
	if err != nil {
		return err
	}
	if err := s.begin(ctx, "delete", key); err != nil {
		return err
	}
	err = s.b.Delete(ctx, full)
	if err != nil && gcerrors.Code(err) == gcerrors.NotFound && ctx.Err() == nil && !s.bucketGone(ctx, err) {
		return nil
	}
	return s.fail(ctx, "delete", key, err)
}

// Copy copies src to dst with blob.Bucket.Copy, then reads dst's
// attributes to return them. IfAbsent and IfMatch give ErrUnsupported:
// gocloud's Copy takes no condition. Progress gets (0, -1) before the
// copy and (size, size) after it, as gocloud's Copy reports no size.
func (s *Store) Copy(ctx context.Context, dst, src string, opts *objstore.CopyOptions) (objstore.Attrs, error) {
	fullDst, fullSrc, err := s.ns.Copy(dst, src, opts)
	if err != nil {
		return objstore.Attrs{}, err
	}
	if opts != nil && (opts.IfAbsent || opts.IfMatch != "") {
		return objstore.Attrs{}, s.unsupported("copy", dst, "IfAbsent and IfMatch on Copy: gocloud.dev/blob's Copy takes no condition")
	}
	if err := s.begin(ctx, "copy", dst); err != nil {
		return objstore.Attrs{}, err
	}
	var prog *objstore.Progress
	if opts != nil {
		prog = objstore.NewProgress(opts.Progress)
	}
	defer prog.Stop()
	prog.Start(-1) // gocloud's Copy tells nothing of the size
	if err := s.b.Copy(ctx, fullDst, fullSrc, nil); err != nil {
		key := dst
		if gcerrors.Code(err) == gcerrors.NotFound {
			key = src
		}
		return objstore.Attrs{}, s.fail(ctx, "copy", key, err)
	}
	a, err := s.b.Attributes(ctx, fullDst)
	if err != nil {
		return objstore.Attrs{}, s.fail(ctx, "copy", dst, err)
	}
	prog.Finish(a.Size)
	return s.attrs(dst, a), nil
}

// Close makes later calls fail. It closes the bucket only when the Store
// opened it from a URL; a wrapped bucket stays open for its owner.
func (s *Store) Close() error {
	if s.closed.Swap(true) || !s.owns {
		return nil
	}
	if err := s.b.Close(); err != nil {
		return &objstore.Error{Driver: s.ns.Driver, Op: "close", Err: err}
	}
	return nil
}
