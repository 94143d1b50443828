package objstore_test

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"testing"

	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/driver"
)

const maxInt = math.MaxInt64

func TestRangeLast(t *testing.T) {
	tests := []struct {
		r       objstore.Range
		last    int64
		bounded bool
	}{
		{objstore.Range{Offset: 0, Length: 1}, 0, true},
		{objstore.Range{Offset: 10, Length: 20}, 29, true},
		{objstore.Range{Offset: 10, Length: -1}, 0, false},
		{objstore.Range{Offset: 0, Length: maxInt}, maxInt - 1, true},
		{objstore.Range{Offset: 1, Length: maxInt}, maxInt, true}, // Offset+Length overflows, the last byte does not
		{objstore.Range{Offset: 2, Length: maxInt}, 0, false},
		{objstore.Range{Offset: 10, Length: maxInt}, 0, false},
		{objstore.Range{Offset: 10, Length: maxInt - 10}, maxInt - 1, true},
		{objstore.Range{Offset: 10, Length: maxInt - 9}, maxInt, true},
		{objstore.Range{Offset: 10, Length: maxInt - 8}, 0, false},
		{objstore.Range{Offset: maxInt, Length: 1}, maxInt, true},
		{objstore.Range{Offset: maxInt, Length: 2}, 0, false},
		{objstore.Range{Offset: maxInt, Length: maxInt}, 0, false},
		{objstore.Range{Offset: maxInt / 2, Length: maxInt/2 + 10}, 0, false},
		{objstore.Range{Offset: maxInt - 1, Length: math.MinInt64}, 0, false},
	}
	for _, tt := range tests {
		last, bounded := tt.r.Last()
		if last != tt.last || bounded != tt.bounded {
			t.Errorf("%+v.Last() = %d, %v; want %d, %v", tt.r, last, bounded, tt.last, tt.bounded)
		}
		if bounded && last < tt.r.Offset {
			t.Errorf("%+v.Last() = %d, before the offset", tt.r, last)
		}
	}
}

// ResolveRange clamps every length to the object and refuses every offset
// past it, however large; no sum overflows.
func TestResolveRangeHuge(t *testing.T) {
	tests := []struct {
		r           objstore.Range
		size        int64
		off, length int64
		err         error
	}{
		{objstore.Range{Offset: 10, Length: maxInt}, 100, 10, 90, nil},
		{objstore.Range{Offset: 10, Length: maxInt - 10}, 100, 10, 90, nil},
		{objstore.Range{Offset: 0, Length: maxInt}, 100, 0, 100, nil},
		{objstore.Range{Offset: 100, Length: maxInt}, 100, 100, 0, nil},
		{objstore.Range{Offset: 0, Length: maxInt}, 0, 0, 0, nil},
		{objstore.Range{Offset: 0, Length: maxInt}, maxInt, 0, maxInt, nil},
		{objstore.Range{Offset: maxInt - 1, Length: maxInt}, maxInt, maxInt - 1, 1, nil},
		{objstore.Range{Offset: 101, Length: maxInt}, 100, 0, 0, objstore.ErrInvalidRange},
		{objstore.Range{Offset: maxInt, Length: 1}, 100, 0, 0, objstore.ErrInvalidRange},
		{objstore.Range{Offset: maxInt, Length: maxInt}, 100, 0, 0, objstore.ErrInvalidRange},
		{objstore.Range{Offset: maxInt, Length: -1}, 100, 0, 0, objstore.ErrInvalidRange},
		{objstore.Range{Offset: maxInt / 2, Length: maxInt/2 + 10}, 100, 0, 0, objstore.ErrInvalidRange},
	}
	for _, tt := range tests {
		off, length, err := driver.Resolve(driver.GetRequest{Offset: tt.r.Offset, Length: tt.r.Length}, tt.size)
		if !errors.Is(err, tt.err) || off != tt.off || length != tt.length {
			t.Errorf("ResolveRange(%+v, size %d) = %d, %d, %v; want %d, %d, %v", tt.r, tt.size, off, length, err, tt.off, tt.length, tt.err)
		}
	}
}

// httpBucket answers every Get as an HTTP driver does: the bytes of its
// response as Content-Range and Content-Length say (driver.ServedRange).
func httpBucket(cr string, cl int64) *badBucket {
	b := &badBucket{}
	b.get = func(driver.GetRequest) (driver.Object, error) {
		off, n, size, err := driver.ServedRange(cr, cl)
		if err != nil {
			return driver.Object{}, err
		}
		return driver.Object{Attrs: driver.Attrs{Size: size, ETag: `"1"`}, Offset: off, Length: n, Body: io.NopCloser(strings.NewReader(""))}, nil
	}
	return b
}

// served is what the portable store makes of a response with Content-Range
// cr and Content-Length cl to a Get of asked.
func served(t *testing.T, asked *objstore.Range, cr string, cl int64) (off, length, total int64, err error) {
	s := newBad(t, httpBucket(cr, cl))
	r, err := s.Get(t.Context(), "k", &objstore.GetOptions{Range: asked})
	if err != nil {
		return 0, 0, 0, err
	}
	r.Close()
	return r.Offset, r.Length, r.Attrs.Size, nil
}

// The portable store serves exactly the responses that carry the bytes
// asked for, and refuses the rest with an *Error of no class, before it
// serves a byte (rule G5): once, for every driver.
func TestServedChecked(t *testing.T) {
	rng := func(off, n int64) *objstore.Range { return &objstore.Range{Offset: off, Length: n} }
	ok := []struct {
		asked              *objstore.Range
		cr                 string
		cl                 int64
		off, length, total int64
	}{
		{nil, "", 100, 0, 100, 100},
		{nil, "", 0, 0, 0, 0},
		{nil, "bytes 0-99/100", 100, 0, 100, 100},
		{nil, "bytes 0-99/100", -1, 0, 100, 100},
		{rng(10, 20), "bytes 10-29/100", 20, 10, 20, 100},
		{rng(10, 1000), "bytes 10-99/100", 90, 10, 90, 100},
		{rng(10, -1), "bytes 10-99/100", 90, 10, 90, 100},
		{rng(10, maxInt), "bytes 10-99/100", 90, 10, 90, 100},
		{rng(99, 1), "bytes 99-99/100", 1, 99, 1, 100},
		// A server may answer a range that covers the object with all of it.
		{rng(0, 100), "", 100, 0, 100, 100},
		{rng(0, maxInt), "", 100, 0, 100, 100},
		{rng(0, -1), "", 100, 0, 100, 100},
		{rng(0, 10), "bytes 0-9/100", 10, 0, 10, 100},
		// Azurite answers a range that starts at the end so; Azure with 416.
		{rng(100, 5), "bytes 100-99/100", 0, 100, 0, 100},
		{rng(100, -1), "bytes 100-99/100", -1, 100, 0, 100},
		{rng(100, maxInt), "bytes 100-99/100", 0, 100, 0, 100},
		{rng(maxInt-10, 5), "bytes 9223372036854775797-9223372036854775801/9223372036854775807", 5, maxInt - 10, 5, maxInt},
	}
	for _, tt := range ok {
		off, length, total, err := served(t, tt.asked, tt.cr, tt.cl)
		if err != nil || off != tt.off || length != tt.length || total != tt.total {
			t.Errorf("Get(%+v) answered with %q, %d = %d, %d, %d, %v; want %d, %d, %d", tt.asked, tt.cr, tt.cl, off, length, total, err, tt.off, tt.length, tt.total)
		}
	}
	bad := []struct {
		asked *objstore.Range
		cr    string
		cl    int64
		says  string
	}{
		// The case: Range{10, MaxInt64} answered with the whole blob.
		{rng(10, maxInt), "", 100, "whole 100-byte object"},
		{rng(10, 20), "", 100, "Range header was ignored"},
		{rng(0, 10), "", 100, "whole 100-byte object"},
		{rng(10, 20), "bytes 0-19/100", 20, "bytes 0-19 of 100"},
		{rng(10, 20), "bytes 10-28/100", 19, "bytes 10-28 of 100"},
		{rng(10, 20), "bytes 10-30/100", 21, "bytes 10-30"},
		{rng(10, 1000), "bytes 10-98/100", 89, "bytes 10-98"},
		{rng(10, 20), "bytes 10-29/100", 100, "disagree"},
		{rng(100, 5), "bytes 99-99/100", 1, "bytes 99-99"},
		{rng(10, 20), "bytes 10-29/*", 20, "not \"bytes FIRST-LAST/SIZE\""},
		{rng(10, 20), "bytes 29-10/100", 20, "not"},
		{rng(50, 5), "bytes 50-49/100", 0, "not"},
		{rng(99, 5), "bytes 100-99/100", 0, "bytes 100-99 of 100"},
		{rng(100, 5), "bytes 100-99/100", 1, "disagree"},
		{nil, "bytes 100-99/100", 0, "bytes 100-99"},
		{rng(10, 20), "bytes 10-29/29", 20, "not"},
		{rng(10, 20), "items 10-29/100", 20, "not"},
		{rng(10, 20), "bytes 10-29/9223372036854775808", 20, "not"},
		{nil, "bytes 10-99/100", 90, "bytes 10-99"},
		{nil, "bytes 0-49/100", 50, "bytes 0-49"},
		{nil, "", -1, "neither Content-Range nor Content-Length"},
		{rng(10, 20), "", -1, "neither"},
	}
	for _, tt := range bad {
		off, length, total, err := served(t, tt.asked, tt.cr, tt.cl)
		what := fmt.Sprintf("Get(%+v) answered with Content-Range %q, Content-Length %d", tt.asked, tt.cr, tt.cl)
		var oe *objstore.Error
		switch {
		case err == nil:
			t.Errorf("%s = %d, %d, %d; want an error", what, off, length, total)
		case !errors.As(err, &oe) || oe.Driver != "bad" || oe.Op != "get" || oe.Key != "k" || oe.Kind != nil:
			t.Errorf("%s = %#v; want an *Error of driver bad, op get, key k and no class", what, err)
		case !strings.Contains(err.Error(), tt.says) || !strings.Contains(err.Error(), "no byte was served"):
			t.Errorf("%s = %q; want it to say %q and that no byte was served", what, err, tt.says)
		case off != 0 || length != 0 || total != 0:
			t.Errorf("%s returned %d, %d, %d with its error", what, off, length, total)
		}
	}
}
