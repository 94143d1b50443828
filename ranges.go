package objstore

import (
	"fmt"
	"github.com/objstore-go/objstore/driver"
	"math"
	"strconv"
)

// Last returns the offset of the last byte r asks for, and false when r
// runs to the end of the object: when Length is negative, or so large that
// the last byte would lie past math.MaxInt64. Any Offset ≥ 0 and any Length
// are valid (rule G3), so a driver builds its Range header from Last, never
// from Offset+Length-1, which can overflow: "bytes=10-" when bounded is
// false, else "bytes=Offset-last". A server may ignore a malformed Range
// header and send the whole object. A Length of 0 asks for nothing, which a
// Range header cannot say; drivers answer it without one.
func (r Range) Last() (last int64, bounded bool) {
	if r.Length < 0 || r.Offset < 0 || r.Length > 0 && r.Length-1 > math.MaxInt64-r.Offset {
		return 0, false
	}
	return r.Offset + r.Length - 1, true
}

// CheckServed is for drivers: before a byte of a GET's response is served,
// it checks that the response carries exactly the bytes the request asked
// for (rule G5), and returns them: the offset of the first, how many there
// are, and the whole object's size. A network driver calls it on every
// GET that serves bytes, resumed reads included.
//
// asked is the range the request's Range header named (see [Range.Last]),
// nil for a request without one, which asks for the whole object.
// contentRange is the response's Content-Range header, "" when it has
// none; contentLength its Content-Length, -1 when it has none.
//
// A response with Content-Range "bytes FIRST-LAST/SIZE" must carry asked
// resolved against SIZE as [Namespace.ResolveRange] resolves it, and a
// Content-Length, if any, of LAST-FIRST+1. A response without
// Content-Range is the whole object, its Content-Length bytes: it covers
// what was asked only when asked is nil, or starts at 0 and reaches at
// least to the object's end.
//
// Anything else (a server, or a proxy in front of it, that ignored the
// Range header or answered for other bytes) gives an *Error of no class:
// errors.Is matches none of the Err values of this package, because the
// caller's range was valid (not ErrInvalidRange) and the object did not
// change (not ErrPrecondition). The driver closes the body and serves
// nothing; a resumable Reader does not resume after such an error.
func (n Namespace) CheckServed(key string, asked *Range, contentRange string, contentLength int64) (offset, length, size int64, err error) {
	fail := func(format string, args ...any) (int64, int64, int64, error) {
		hint := "no byte was served"
		if asked != nil {
			hint += "; a server or proxy that does not honour Range headers cannot serve ranged reads"
		}
		return 0, 0, 0, &Error{Driver: n.Driver, Op: "get", Key: key, Err: fmt.Errorf(format, args...), Hint: hint}
	}
	want := "the whole object"
	if asked != nil {
		want = "bytes=" + strconv.FormatInt(asked.Offset, 10) + "-"
		if last, ok := asked.Last(); ok {
			want += strconv.FormatInt(last, 10)
		}
	}
	first, count, total, err := driver.ServedRange(contentRange, contentLength)
	if err != nil {
		return fail("%v", err)
	}
	if contentRange == "" {
		if asked == nil || asked.Offset == 0 && covers(*asked, total) {
			return 0, count, total, nil
		}
		return fail("the request asked for %s and the response carries the whole %d-byte object (no Content-Range): the Range header was ignored", want, total)
	}
	last := first + count - 1
	r := Range{Length: -1}
	if asked != nil {
		r = *asked
	}
	wantLast := total - 1
	if l, ok := r.Last(); ok && l < wantLast {
		wantLast = l
	}
	if first != r.Offset || last != wantLast {
		return fail("the request asked for %s and the response carries bytes %d-%d of %d (Content-Range %q)", want, first, last, total, contentRange)
	}
	return first, count, total, nil
}

// covers reports whether r, starting at 0, reaches the end of an object of
// size bytes.
func covers(r Range, size int64) bool {
	last, ok := r.Last()
	return !ok || last >= size-1
}
