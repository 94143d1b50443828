package objstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/objstore-go/objstore/driver"
)

// NewStore returns the portable Store over a driver's bucket: the Store
// that enforces the contract of docs/SEMANTICS.md once, for every driver
// (see package driver for what it takes care of). urlPath is the path of
// the URL the store was opened from, "" for none: it becomes the key
// prefix of the store (rule U3). Drivers call NewStore from the OpenFunc
// they register; docs/DRIVERS.md shows how.
func NewStore(b driver.Bucket, urlPath string) (Store, error) {
	info := b.Info()
	ns, err := newNamespace(info.Scheme, &url.URL{Path: urlPath})
	if err != nil {
		return nil, err
	}
	ns.Native = info.Rules
	if root := strings.Trim(info.Root, "/"); root != "" {
		ns.Prefix = root + "/" + ns.Prefix
	}
	if info.Native {
		ns.Keys = KeysNative
	}
	ops, _ := b.(driver.Operations)
	return &portable{b: b, ns: ns, noCondGet: info.NoConditionalGet, ops: ops}, nil
}

// portable is the Store over a driver.Bucket.
type portable struct {
	b         driver.Bucket
	ns        namespace
	noCondGet bool              // driver.Info.NoConditionalGet
	ops       driver.Operations // nil when the driver has none
	closed    atomic.Bool
}

var errClosed = errors.New("the store is closed")

// begin checks what every operation checks before it reaches the driver.
func (s *portable) begin(ctx context.Context, op, key string) error {
	if err := ctx.Err(); err != nil {
		return &Error{Driver: s.ns.Driver, Op: op, Key: key, Err: err}
	}
	if s.closed.Load() {
		return &Error{Driver: s.ns.Driver, Op: op, Key: key, Err: errClosed}
	}
	return nil
}

// start begins operation op on key (full in backend terms) after begin's
// checks: in the driver's pipeline, when it has one (driver.Operations).
// The caller defers end with its error.
func (s *portable) start(ctx context.Context, op, key, full string) (context.Context, func(error) error, error) {
	if err := s.begin(ctx, op, key); err != nil {
		return ctx, nil, err
	}
	if s.ops == nil {
		return ctx, noEnd, nil
	}
	ctx, end := s.ops.Begin(ctx, op, full)
	return ctx, end, nil
}

func noEnd(err error) error { return err }

// fail turns a driver's error into the *Error of op on key (rule E1), as
// wrapError does.
func (s *portable) fail(op, key string, err error) error {
	return wrapError(s.ns.Driver, op, key, err)
}

// wrapError returns err as an *Error of driver, op and key: the class it
// wraps becomes Kind, and a *driver.Error's hint and attempts carry over.
// An *Error (one a pipeline built), at the top or just under a
// *driver.Error, becomes the error, with the caller's op and key rather
// than the backend's, so that its message is not nested in another's.
func wrapError(drv, op, key string, err error) error {
	if err == nil {
		return nil
	}
	var (
		kind     error
		hint     string
		attempts int
		cause    = err
	)
	if de, ok := err.(*driver.Error); ok {
		kind, hint, attempts, cause = de.Kind, de.Hint, de.Attempts, de.Err
	}
	if oe, ok := cause.(*Error); ok {
		oe.Driver, oe.Op, oe.Key = drv, op, key
		if oe.Kind == nil {
			oe.Kind = kind
		}
		if oe.Hint == "" {
			oe.Hint = hint
		}
		oe.Attempts = max(oe.Attempts, attempts)
		return oe
	}
	if kind == nil {
		kind = classOf(err)
	}
	return &Error{Driver: drv, Op: op, Key: key, Kind: kind, Err: cause, Hint: hint, Attempts: attempts}
}

// classes are the error classes a driver's error may wrap.
var classes = []error{ErrNotFound, ErrBucketNotFound, ErrExists, ErrPrecondition, ErrNotModified,
	ErrInvalidArgument, ErrInvalidRange, ErrPermission, ErrUnauthenticated, ErrUnsupported, ErrThrottled}

func classOf(err error) error {
	for _, c := range classes {
		if errors.Is(err, c) {
			return c
		}
	}
	return nil
}

// remap gives a conditional write's failure the class its condition
// says: a key that exists under IfAbsent is ErrExists whatever the
// backend answered (412 on S3), and a missing key under IfMatch is
// ErrPrecondition (rules P3 and P4).
func remap(err error, ifAbsent bool, ifMatch string) error {
	var oe *Error
	if !errors.As(err, &oe) {
		return err
	}
	switch {
	case ifAbsent && oe.Kind == ErrPrecondition:
		oe.Kind = ErrExists
	case ifMatch != "" && oe.Kind == ErrNotFound:
		oe.Kind = ErrPrecondition
	}
	return err
}

func (s *portable) Stat(ctx context.Context, key string) (_ Attrs, err error) {
	full, err := s.ns.Stat(key)
	if err != nil {
		return Attrs{}, err
	}
	ctx, end, err := s.start(ctx, "stat", key, full)
	if err != nil {
		return Attrs{}, err
	}
	defer func() { err = end(err) }()
	a, err := s.b.Stat(ctx, full)
	if err != nil {
		return Attrs{}, s.fail("stat", key, err)
	}
	a.Key = key
	return Attrs(a), nil
}

func (s *portable) Get(ctx context.Context, key string, opts *GetOptions) (_ *Reader, err error) {
	full, err := s.ns.Get(key, opts)
	if err != nil {
		return nil, err
	}
	ctx, end, err := s.start(ctx, "get", key, full)
	if err != nil {
		return nil, err
	}
	defer func() { err = end(err) }()
	req := driver.GetRequest{Length: -1}
	var rng *Range
	if opts != nil && s.noCondGet && (opts.IfMatch != "" || opts.IfNoneMatch != "") {
		return nil, &Error{Driver: s.ns.Driver, Op: "get", Key: key, Kind: ErrUnsupported,
			Err:  errors.New("IfMatch and IfNoneMatch on Get: this driver's backend has no conditional read"),
			Hint: "read without the condition, or use a driver whose backend reads conditionally (s3, azblob, mem, file)"}
	}
	if opts != nil {
		req.IfMatch, req.IfNoneMatch = opts.IfMatch, opts.IfNoneMatch
		if rng = opts.Range; rng != nil {
			req.Offset, req.Length = rng.Offset, rng.Length
			if _, bounded := rng.Last(); !bounded && rng.Length != 0 {
				req.Length = -1
			}
		}
	}
	obj, err := s.b.Get(ctx, full, req)
	if err != nil {
		return nil, s.fail("get", key, err)
	}
	attrs := Attrs(obj.Attrs)
	attrs.Key = key
	off, n, err := s.ns.ResolveRange(key, rng, attrs.Size)
	if err == nil {
		err = s.served(key, &obj, off, n)
	}
	if err != nil {
		obj.Body.Close()
		return nil, err
	}
	r := newResumableReader(ctx, s.ns.Driver, obj.Body, attrs, off, n, nil)
	if !s.noCondGet && attrs.ETag != "" {
		// The reopen function is made at the first failure, if any: a
		// closure per Get would cost an allocation most reads never use.
		r.rctx, r.src, r.full = ctx, s, full
	}
	return r, nil
}

// served checks that a driver's read carries exactly the bytes [off,
// off+n) that were asked for (rule G5), before a byte is served.
func (s *portable) served(key string, obj *driver.Object, off, n int64) error {
	if obj.Offset == off && obj.Length == n {
		return nil
	}
	size := obj.Attrs.Size
	want := fmt.Sprintf("bytes %d-%d", off, off+n-1)
	if off == 0 && n == size {
		want = "the whole object"
	}
	got := fmt.Sprintf("sent bytes %d-%d of %d", obj.Offset, obj.Offset+obj.Length-1, size)
	if obj.Offset == 0 && obj.Length == size {
		got = fmt.Sprintf("sent the whole %d-byte object: the Range header was ignored", size)
	}
	return &Error{Driver: s.ns.Driver, Op: "get", Key: key,
		Err:  fmt.Errorf("%s were asked for, and the backend %s", want, got),
		Hint: "no byte was served; a server or proxy that does not honour Range headers cannot serve ranged reads"}
}

// reopen returns how a Reader of key resumes: a Get of the bytes not yet
// served, pinned to the ETag read first. Another ETag, or other bytes,
// fail the read rather than mix versions or skip bytes.
func (s *portable) reopen(key, full string) reopenFunc {
	return func(ctx context.Context, offset, length int64, etag string) (io.ReadCloser, error) {
		if err := s.begin(ctx, "get", key); err != nil {
			return nil, err
		}
		obj, err := s.b.Get(ctx, full, driver.GetRequest{Offset: offset, Length: length, IfMatch: etag})
		if err != nil {
			return nil, remap(s.fail("get", key, err), false, etag)
		}
		if obj.Attrs.ETag != etag {
			obj.Body.Close()
			return nil, &Error{Driver: s.ns.Driver, Op: "get", Key: key, Kind: ErrPrecondition,
				Err: fmt.Errorf("resuming the read of ETag %s, the backend answered with ETag %s", etag, obj.Attrs.ETag)}
		}
		if err := s.served(key, &obj, offset, length); err != nil {
			obj.Body.Close()
			return nil, err
		}
		return obj.Body, nil
	}
}

func (s *portable) Put(ctx context.Context, key string, body io.Reader, opts *PutOptions) (_ Attrs, err error) {
	full, err := s.ns.Put(key, opts)
	if err != nil {
		return Attrs{}, err
	}
	ctx, end, err := s.start(ctx, "put", key, full)
	if err != nil {
		return Attrs{}, err
	}
	defer func() { err = end(err) }()
	var o PutOptions
	if opts != nil {
		o = *opts
	}
	if body == nil {
		body = strings.NewReader("")
	}
	size := bodySize(body)
	prog := newProgress(o.Progress)
	defer prog.Stop()
	dprog := progressOf(prog, size)
	a, err := s.b.Put(ctx, full, body, driver.PutRequest{
		ContentType: driver.ContentTypeOrDefault(o.ContentType),
		Metadata:    driver.NormalizeMetadata(o.Metadata),
		IfAbsent:    o.IfAbsent,
		IfMatch:     o.IfMatch,
		Size:        size,
		PartSize:    o.PartSize,
		Concurrency: o.Concurrency,
		Progress:    dprog,
	})
	if err != nil {
		return Attrs{}, remap(s.fail("put", key, err), o.IfAbsent, o.IfMatch)
	}
	dprog.begin() // the first report, if the driver made none
	prog.Finish(a.Size)
	a.Key = key
	return Attrs(a), nil
}

// bodySize returns the size of a Put body that tells it (Size for a body
// read with ReadAt, else Len), or -1.
func bodySize(body io.Reader) int64 {
	if _, n, ok := driver.ReaderAtBody(body); ok {
		return n
	}
	if l, ok := body.(interface{ Len() int }); ok {
		return int64(l.Len())
	}
	return -1
}

// progressOf returns p as the driver.Progress of a transfer of size bytes
// (-1: unknown): the first report is (0, total) whichever call of the
// driver's comes first. A driver that calls Start gives the total; one
// that only adds bytes starts it with size. A nil p does nothing.
func progressOf(p *progress, size int64) *lazyProgress {
	return &lazyProgress{p: p, size: size}
}

type lazyProgress struct {
	p    *progress // nil-safe
	size int64
	once sync.Once
}

// begin starts p with size, unless it was started.
func (l *lazyProgress) begin() { l.once.Do(func() { l.p.Start(l.size) }) }

// Start starts p with total; a later Start starts the attempt over.
func (l *lazyProgress) Start(total int64) {
	l.once.Do(func() {})
	l.p.Start(total)
}

func (l *lazyProgress) Add(n int64)        { l.begin(); l.p.Add(n) }
func (l *lazyProgress) Reached(done int64) { l.begin(); l.p.Reached(done) }

func (s *portable) Delete(ctx context.Context, key string) (err error) {
	full, err := s.ns.Delete(key)
	if err != nil {
		return err
	}
	ctx, end, err := s.start(ctx, "delete", key, full)
	if err != nil {
		return err
	}
	defer func() { err = end(err) }()
	if err := s.b.Delete(ctx, full); err != nil && !errors.Is(err, ErrNotFound) {
		return s.fail("delete", key, err)
	}
	return nil
}

func (s *portable) Copy(ctx context.Context, dst, src string, opts *CopyOptions) (_ Attrs, err error) {
	fullDst, fullSrc, err := s.ns.Copy(dst, src, opts)
	if err != nil {
		return Attrs{}, err
	}
	ctx, end, err := s.start(ctx, "copy", dst, fullDst)
	if err != nil {
		return Attrs{}, err
	}
	defer func() { err = end(err) }()
	var o CopyOptions
	if opts != nil {
		o = *opts
	}
	prog := newProgress(o.Progress)
	defer prog.Stop()
	dprog := progressOf(prog, -1)
	a, err := s.b.Copy(ctx, fullDst, fullSrc, driver.CopyRequest{IfAbsent: o.IfAbsent, IfMatch: o.IfMatch, Progress: dprog})
	if err != nil {
		// The key of a failure is src's when src is what failed.
		k := dst
		if errors.Is(err, ErrNotFound) || errors.Is(err, ErrPrecondition) && o.IfMatch != "" {
			k = src
		}
		return Attrs{}, remap(s.fail("copy", k, err), o.IfAbsent, "")
	}
	dprog.begin()
	prog.Finish(a.Size)
	a.Key = dst
	return Attrs(a), nil
}

// maxEmptyPages is how many pages in a row may come back empty yet with
// a next token before List gives up on a backend that does not progress.
// MinIO sends one such page at the end of some listings.
const maxEmptyPages = 100

func (s *portable) List(ctx context.Context, opts *ListOptions) iter.Seq2[Entry, error] {
	return func(yield func(Entry, error) bool) {
		o, err := s.ns.List(opts)
		if err != nil {
			yield(Entry{}, err)
			return
		}
		ctx, end, err := s.start(ctx, "list", "", "")
		if err != nil {
			yield(Entry{}, err)
			return
		}
		// An error is yielded last, after the operation ended, so that it
		// carries what end adds.
		ended := false
		defer func() {
			if !ended {
				end(nil)
			}
		}()
		yield0 := yield
		yield = func(e Entry, err error) bool {
			if err != nil {
				ended, err = true, end(err)
			}
			return yield0(e, err)
		}
		req := driver.ListRequest{Prefix: o.Prefix, Delimiter: o.Delimiter, StartAfter: o.StartAfter, PageSize: o.PageSize}
		fail := func(format string, args ...any) {
			yield(Entry{}, &Error{Driver: s.ns.Driver, Op: "list", Err: fmt.Errorf(format, args...)})
		}
		var (
			last       string // the last key yielded, in backend terms
			yielded    bool
			emptyPages int
			// A token that comes back means the listing loops. Brent's
			// cycle finding sees it with two tokens held, however long
			// the loop: mark is the token of page number power, and each
			// later token is compared with it until power more pages have
			// come.
			mark         string
			power, since = 1, 0
		)
		for {
			if err := s.begin(ctx, "list", ""); err != nil {
				yield(Entry{}, err)
				return
			}
			page, err := s.b.List(ctx, req)
			if err != nil {
				yield(Entry{}, s.fail("list", "", err))
				return
			}
			entries := 0
			for _, e := range page.Entries {
				full := e.Key
				switch {
				case yielded && full < last:
					fail("the backend listed key %q after %q; listings are in byte order", full, last)
					return
				case yielded && full == last:
					continue // a common prefix repeated at a page boundary
				case !strings.HasPrefix(full, o.Prefix), o.StartAfter != "" && full <= o.StartAfter:
					continue // outside what was asked
				}
				last, yielded = full, true
				entries++
				e.Key = s.ns.Rel(full)
				if !yield(Entry{Attrs: Attrs(e.Attrs), IsPrefix: e.IsPrefix}, nil) {
					return
				}
			}
			switch {
			case page.Next == "":
				return
			case page.Next == req.Token, page.Next == mark:
				fail("the backend sent a continuation token it had sent before; the listing would never end")
				return
			}
			if since++; since == power {
				mark, power, since = page.Next, 2*power, 0
			}
			if entries == 0 {
				if emptyPages++; emptyPages > maxEmptyPages {
					fail("the backend sent %d empty pages in a row; the listing does not advance", emptyPages)
					return
				}
			} else {
				emptyPages = 0
			}
			req.Token = page.Next
		}
	}
}

// Close closes the driver's bucket once; later calls fail before they
// reach it.
func (s *portable) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	return s.b.Close()
}
