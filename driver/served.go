package driver

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ServedRange reads which bytes an HTTP response to a GET carries, for
// Object.Offset, Object.Length and Attrs.Size: from its Content-Range
// header ("" when it has none) and its Content-Length (-1 when it has
// none). A response without Content-Range carries the whole object, its
// Content-Length bytes. It does not judge whether those are the bytes
// that were asked for: the portable store does that, for every driver
// (rule G5). A header it cannot read, or a Content-Range and
// Content-Length that disagree, is an *Error of no class.
func ServedRange(contentRange string, contentLength int64) (offset, length, size int64, err error) {
	offset, length, size, err = servedRange(contentRange, contentLength)
	if err != nil {
		err = &Error{Err: err, Hint: "no byte was served"}
	}
	return offset, length, size, err
}

func servedRange(contentRange string, contentLength int64) (offset, length, size int64, err error) {
	if contentRange == "" {
		if contentLength < 0 {
			return 0, 0, 0, errors.New("the response carries neither Content-Range nor Content-Length, so its bytes are unknown")
		}
		return 0, contentLength, contentLength, nil
	}
	first, last, total, ok := parseContentRange(contentRange)
	if !ok {
		return 0, 0, 0, fmt.Errorf("the response's Content-Range %q is not \"bytes FIRST-LAST/SIZE\"", contentRange)
	}
	if contentLength >= 0 && contentLength != last-first+1 {
		return 0, 0, 0, fmt.Errorf("the response's Content-Range %q and Content-Length %d disagree", contentRange, contentLength)
	}
	return first, last - first + 1, total, nil
}

// parseContentRange parses "bytes FIRST-LAST/SIZE", where FIRST ≤ LAST <
// SIZE, or LAST = FIRST-1 = SIZE-1: no bytes, at the end of the object,
// which Azurite sends for a range that starts there (Azure answers 416).
// An unknown size ("/*") does not parse: a Reader needs it.
func parseContentRange(v string) (first, last, size int64, ok bool) {
	rest, found := strings.CutPrefix(v, "bytes ")
	if !found {
		return 0, 0, 0, false
	}
	span, total, found := strings.Cut(rest, "/")
	if !found {
		return 0, 0, 0, false
	}
	a, b, found := strings.Cut(span, "-")
	if !found {
		return 0, 0, 0, false
	}
	var errs [3]error
	first, errs[0] = strconv.ParseInt(a, 10, 64)
	last, errs[1] = strconv.ParseInt(b, 10, 64)
	size, errs[2] = strconv.ParseInt(total, 10, 64)
	empty := last == first-1 && first == size
	if errors.Join(errs[:]...) != nil || first < 0 || last < first && !empty || size <= last {
		return 0, 0, 0, false
	}
	return first, last, size, true
}

// Resolve returns the bytes a GetRequest asks of an object of size bytes:
// from r.Offset, r.Length of them or to the end. An offset past the end
// is ErrInvalidRange; one at the end serves nothing.
func Resolve(r GetRequest, size int64) (offset, length int64, err error) {
	if r.Offset > size {
		return 0, 0, Errorf(ErrInvalidRange, fmt.Sprintf("Range.Offset %d is past the end of the %d-byte object", r.Offset, size))
	}
	length = size - r.Offset
	if r.Length >= 0 && r.Length < length {
		length = r.Length
	}
	return r.Offset, length, nil
}
