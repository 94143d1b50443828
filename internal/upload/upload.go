// Package upload is the upload engine the S3 multipart and the Azure block
// uploads share. A driver gives it a Target, the requests of one upload
// made with its SDK (create, part, commit, abort), and the engine does the
// rest: it reads the body into at most Concurrency part buffers, reused,
// whose size grows by one rule (see Limits); it sends a body that has
// ReadAt in sections, with no buffer; it reports each part acknowledged;
// and it aborts the upload on any failure before the commit.
//
// Memory: an upload of a body read in order holds at most Concurrency
// buffers of the current part size (the first of them larger when the
// driver's single-request threshold is above the part size), plus, to
// find out that a body is large, buffers of 64 KiB doubling to 1 MiB that
// it drops before the first part buffer is filled. The part buffers are
// new for each upload, or, with Plan.Pooled, shared through a pool.
package upload

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/driver"
	"github.com/objstore-go/objstore/internal/ctxio"
	"github.com/objstore-go/objstore/internal/parts"
)

// AbortTimeout bounds the abort sent after a failure, on a context of its
// own since the caller's may be the reason for it.
const AbortTimeout = 30 * time.Second

// Target is one upload's requests, made by a driver with its SDK.
type Target interface {
	// Begin starts the upload (S3's CreateMultipartUpload), once the
	// body is known to need parts.
	Begin(ctx context.Context) error
	// Part sends part n (from 1) of size bytes, read from body, and
	// returns what the commit names it by (S3's ETag, Azure's block ID).
	// body stops at its next Read once ctx is done; the SDK may rewind it.
	Part(ctx context.Context, n int, body io.ReadSeeker, size int64) (id string, err error)
	// Commit makes the object from parts, in order, with the write's
	// condition. It cleans up after its own failures (S3 settles a lost
	// answer before it decides to abort); the engine does not abort
	// after it.
	Commit(ctx context.Context, parts []Part) error
	// Abort removes what Begin and Part stored. It runs on a context of
	// its own, bounded by AbortTimeout. Its error is joined to the
	// upload's, and should say what is left behind.
	Abort(ctx context.Context) error
	// Failed turns the cause of a failed upload into the error to report:
	// a *BodyError, a *TooLargeError, an error Part returned, or the
	// cause of ctx's end.
	Failed(cause error) error
}

// Part is one part sent.
type Part struct {
	N    int    // from 1
	ID   string // what Target.Part returned
	Size int64
}

// Plan is the shape of one upload.
type Plan struct {
	Limits      Limits
	PartSize    int64 // the first parts' size, raised or lowered to the limits
	Concurrency int   // parts in flight, and part buffers held; at least 1
	// Size is the body's size when it says (its Len), else -1. The first
	// parts are then large enough for MaxParts parts to hold it.
	Size int64
	// Pooled makes the part buffers come from, and go back to, a pool
	// that uploads share (by size), rather than be new for each upload.
	// The pool saves allocations when uploads follow each other, and
	// keeps their buffers in the heap for two GC cycles after.
	Pooled bool
}

// partSize returns the size of the first parts of a body of size bytes
// (-1 for unknown), or a *TooLargeError.
func (p Plan) partSize(size int64) (int64, error) {
	l := p.Limits
	ps := l.PartSize(p.PartSize)
	if size < 0 {
		return ps, nil
	}
	if size > int64(l.MaxParts)*l.MaxPartSize {
		return 0, &TooLargeError{Size: size, Capacity: int64(l.MaxParts) * l.MaxPartSize, MaxParts: l.MaxParts, PartSize: ps}
	}
	return max(ps, (size+int64(l.MaxParts)-1)/int64(l.MaxParts)), nil
}

// BodyError is the failure of the body: no retry can cure it, and nothing
// was stored.
type BodyError struct{ Err error }

func (e *BodyError) Error() string { return e.Err.Error() }
func (e *BodyError) Unwrap() error { return e.Err }

// A body of unknown size is first read into a buffer of firstChunk bytes,
// which doubles up to bigChunk and then becomes the first part's: finding
// out that a body is large costs under 2×bigChunk bytes besides it.
const (
	firstChunk = 64 << 10
	bigChunk   = 1 << 20
)

// Upload is a body read in order, on its way up. Start reads its start;
// then either Bytes is all of it, for the driver to send in one request,
// or Run sends it in parts. Close gives its buffers back, after either.
type Upload struct {
	parent context.Context
	ctx    context.Context // parent's, cancelled on the first failure
	cancel context.CancelCauseFunc
	lim    Limits
	conc   int
	p      int64 // the first parts' size
	g      int   // the size doubles every g parts
	r      *ctxio.Reader
	body   io.Reader // what follows head: r, behind the bytes read ahead
	bufs   *buffers

	head    []byte // the first part's buffer, or the whole body
	headLen int
	// headCounted: head is a part buffer, counted in bufs. When it is
	// larger than p (bufs.big), all of it stays counted after head[:p:p]
	// becomes part 1's buffer, until that is dropped.
	headCounted bool
	whole       bool

	mu    sync.Mutex
	err   error // the first failure
	done  []Part
	stats Stats
}

// Stats is what an upload held, for tests.
type Stats struct {
	MaxBuffers int   // part buffers held at once, at most
	MaxBytes   int64 // their capacity, at most
	PartSize   int64 // the largest part size used
}

// Start reads the start of body, up to threshold bytes and at least the
// first part, on ctx. When the body ends within threshold bytes, Bytes
// returns it; otherwise Run sends it in parts. A failure to read the body
// is a *BodyError, unless ctx ended, whose error it then is; a body of
// known size longer than the parts can hold is a *TooLargeError, found
// before any read.
func Start(ctx context.Context, body io.Reader, plan Plan, threshold int64) (*Upload, error) {
	p, err := plan.partSize(plan.Size)
	if err != nil {
		return nil, err
	}
	u := &Upload{parent: ctx, lim: plan.Limits, conc: max(plan.Concurrency, 1), p: p, g: plan.Limits.Group(p),
		r: &ctxio.Reader{Ctx: ctx, R: body}}
	u.bufs = newBuffers(u.conc, plan.Pooled)
	if err := u.readHead(max(threshold, 0), plan.Size); err != nil {
		u.Close()
		if ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		return nil, &BodyError{err}
	}
	return u, nil
}

// readHead reads the body into head: until it ends, or until head, of
// max(p, threshold) bytes, is full and one more byte is read. hint, when
// not negative, is the size the body is expected to have.
func (u *Upload) readHead(threshold, hint int64) error {
	full := max(u.p, threshold)
	c := min(firstChunk, full)
	if hint >= 0 {
		c = min(hint+1, full)
	}
	// chunk returns a buffer of n bytes on its way to full, which is a
	// part buffer. The smaller ones are garbage once copied: pooled, they
	// would stay in the heap, and raise its peak, after the upload.
	chunk := func(n int64) []byte {
		if n == full {
			return u.bufs.alloc(n)
		}
		return make([]byte, n)
	}
	buf := chunk(c)
	n, eof, err := fill(u.r, buf)
	for err == nil && !eof && int64(len(buf)) < full {
		next := full
		if c := 2 * int64(len(buf)); c <= bigChunk {
			next = min(c, full)
		}
		nb := chunk(next)
		copy(nb, buf[:n])
		buf = nb
		var m int
		m, eof, err = fill(u.r, buf[n:])
		n += m
	}
	u.head, u.headLen, u.headCounted = buf, n, int64(len(buf)) == full
	if u.headCounted && full > u.p {
		u.bufs.big = buf
	}
	if err != nil {
		return err
	}
	var ahead []byte
	if !eof {
		var one [1]byte
		m, end, err := fill(u.r, one[:])
		if err != nil {
			return err
		}
		eof = end && m == 0
		ahead = one[:m]
	}
	if eof && int64(n) <= threshold {
		u.whole = true
		return nil
	}
	if int64(len(buf)) != full {
		// The body ended past threshold and within a part, in a chunk:
		// move it to a part buffer.
		b := u.bufs.alloc(full)
		copy(b, buf[:n])
		u.head, u.headCounted = b, true
		if full > u.p {
			u.bufs.big = b
		}
	}
	// The head is part 1, and what it holds past p the start of part 2:
	// head[:p:p] is reused as a part buffer, which never writes there.
	var past []byte
	if int64(u.headLen) > u.p {
		past = u.head[u.p:u.headLen]
	}
	u.body = io.MultiReader(bytes.NewReader(past), bytes.NewReader(ahead), u.r)
	return nil
}

// Bytes returns the whole body, when Start found that it ends within the
// threshold, or nil.
func (u *Upload) Bytes() []byte {
	if !u.whole {
		return nil
	}
	return u.head[:u.headLen]
}

// Close gives the upload's buffers back to the pool, once neither the
// upload nor the driver uses them.
func (u *Upload) Close() {
	if u.cancel != nil {
		u.cancel(nil)
	}
	if u.head != nil && u.headCounted {
		u.bufs.drop(u.head)
	}
	u.head = nil
	u.bufs.drain()
}

// Stats returns what the upload held.
func (u *Upload) Stats() Stats {
	u.stats.MaxBuffers, u.stats.MaxBytes = u.bufs.maxCount, u.bufs.maxBytes
	return u.stats
}

// fail records the first failure and stops the upload.
func (u *Upload) fail(err error) {
	u.mu.Lock()
	if u.err == nil {
		u.err = err
	}
	u.mu.Unlock()
	u.cancel(err)
}

// bodyFailed records a failure to read the body: the body's, or the end
// of the upload's context that stopped the read.
func (u *Upload) bodyFailed(err error) {
	if u.ctx.Err() != nil {
		u.fail(context.Cause(u.ctx))
		return
	}
	u.fail(&BodyError{err})
}

type job struct {
	n    int
	buf  []byte // the buffer to give back
	data []byte // the part, in buf
}

// Run sends the body in parts with t, Concurrency at a time, commits them
// and returns the body's size. add gets the size of each part t
// acknowledges. On any failure before the commit, the parts in flight are
// cancelled, no more are read, and the upload is aborted: Run returns
// t.Failed of the first failure, joined with the abort's error if it
// failed. Begin's and Commit's errors are returned as they are.
func (u *Upload) Run(t Target, add func(int64)) (int64, error) {
	if u.whole {
		return 0, errors.New("upload.Run: the body fits in one request")
	}
	u.ctx, u.cancel = context.WithCancelCause(u.parent)
	u.r.Ctx = u.ctx
	if err := t.Begin(u.ctx); err != nil {
		return 0, err
	}
	work := make(chan job)
	var wg sync.WaitGroup
	for range u.conc {
		wg.Go(func() {
			for j := range work {
				if u.ctx.Err() == nil {
					size := int64(len(j.data))
					id, err := t.Part(u.ctx, j.n, &ctxio.Bytes{Ctx: u.ctx, B: j.data}, size)
					if err != nil {
						u.fail(err)
					} else {
						u.mu.Lock()
						u.done = append(u.done, Part{N: j.n, ID: id, Size: size})
						u.mu.Unlock()
						add(size)
					}
				}
				u.bufs.free <- j.buf
			}
		})
	}
	send := func(j job) bool {
		select {
		case work <- j:
			return true
		case <-u.ctx.Done():
			u.bufs.free <- j.buf
			return false
		}
	}
	u.stats.PartSize = u.p
	first := u.head[:min(int64(u.headLen), u.p)]
	slot := u.head[:u.p:u.p]
	u.head = nil // a part buffer now
	ok := send(job{n: 1, buf: slot, data: first})
	for n := 2; ok; n++ {
		// Take a buffer only for a part that has data: peek one byte.
		var one [1]byte
		m, _, err := fill(u.body, one[:])
		if err != nil {
			u.bodyFailed(err)
			break
		}
		if m == 0 {
			break // the body ended
		}
		if n > u.lim.MaxParts {
			u.fail(&TooLargeError{Size: -1, Capacity: u.lim.Capacity(u.p, u.g), MaxParts: u.lim.MaxParts, PartSize: u.p})
			break
		}
		size := u.lim.SizeAt(u.p, u.g, n)
		u.stats.PartSize = max(u.stats.PartSize, size)
		buf, err := u.bufs.get(u.ctx, size)
		if err != nil {
			u.fail(err) // a part failed, or ctx ended: the first failure stands
			break
		}
		buf[0] = one[0]
		k, eof, err := fill(u.body, buf[1:])
		if err != nil {
			u.bufs.free <- buf
			u.bodyFailed(err)
			break
		}
		ok = send(job{n: n, buf: buf, data: buf[:1+k]})
		if eof {
			break
		}
	}
	close(work)
	wg.Wait()
	u.bufs.drain()
	if u.err == nil && u.ctx.Err() != nil {
		u.err = context.Cause(u.ctx)
	}
	if u.err != nil {
		return 0, Abort(u.parent, t.Abort, t.Failed(u.err))
	}
	slices.SortFunc(u.done, func(a, b Part) int { return cmp.Compare(a.N, b.N) })
	var size int64
	for _, p := range u.done {
		size += p.Size
	}
	if err := t.Commit(u.parent, u.done); err != nil {
		return 0, err
	}
	return size, nil
}

// Sections sends the size bytes of body in parts with t, Concurrency at a
// time, and commits them. Each part's body is a section of body, read
// with ReadAt as it is sent: no part is buffered, and the SDK can rewind
// a failed part and send it again on its own. add gets the size of each
// part t acknowledges. Failures are as Run's; a failure of body is a
// *BodyError. body's cancel should end ctx.
func Sections(ctx context.Context, t Target, body *parts.Body, size int64, plan Plan, add func(int64)) error {
	p, err := plan.partSize(size)
	if err != nil {
		return t.Failed(err)
	}
	if err := t.Begin(ctx); err != nil {
		return err
	}
	n := int((size + p - 1) / p)
	done := make([]Part, n)
	err = parts.Each(ctx, n, max(plan.Concurrency, 1), func(ctx context.Context, i int) error {
		off := int64(i) * p
		length := min(p, size-off)
		id, err := t.Part(ctx, i+1, &ctxio.ReadSeeker{Ctx: ctx, R: io.NewSectionReader(body, off, length)}, length)
		if err != nil {
			return err
		}
		done[i] = Part{N: i + 1, ID: id, Size: length}
		add(length)
		return nil
	})
	if err != nil {
		if berr := body.Err(); berr != nil {
			err = &BodyError{berr}
		}
		return Abort(ctx, t.Abort, t.Failed(err))
	}
	return t.Commit(ctx, done)
}

// Abort runs abort after cause, the error it returns, on a context of
// its own bounded by AbortTimeout that keeps ctx's values but not its
// cancellation: a cancelled upload must still abort. An abort that fails
// is reported with cause: joined to its Err when cause is an
// *objstore.Error or a *driver.Error, so that its class stays.
func Abort(ctx context.Context, abort func(context.Context) error, cause error) error {
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), AbortTimeout)
	defer cancel()
	err := abort(actx)
	if err == nil {
		return cause
	}
	switch c := cause.(type) {
	case *objstore.Error:
		e := *c
		e.Err = errors.Join(e.Err, err)
		return &e
	case *driver.Error:
		e := *c
		e.Err = errors.Join(e.Err, err)
		return &e
	}
	return errors.Join(cause, err)
}

// fill reads into buf until it is full or the body ends. eof reports the
// end of the body (io.EOF, exactly); err is any other failure of the body.
func fill(r io.Reader, buf []byte) (n int, eof bool, err error) {
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		switch {
		case err == io.EOF:
			return n, true, nil
		case err != nil:
			return n, false, err
		}
	}
	return n, false, nil
}
