package azure

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/internal/pipeline"
)

var errNotModified = errors.New("the ETag matches IfNoneMatch")

// Get opens the object at key, or the range opts asks for, with one
// request in the common cases:
//
//   - no Range, or a Range from offset 0: Get Blob without a Range
//     header, so that a zero-byte blob, which answers any Range with 416,
//     reads as empty. A Range{0, n} reads n bytes of that response and
//     closes it; for a large blob the rest of the connection is dropped.
//   - a Range from a later offset: Get Blob with x-ms-range. An offset
//     equal to the size serves an empty Reader, found from the 416's
//     Content-Range plus one Get Blob Properties for the attributes; an
//     offset past the size gives ErrInvalidRange.
//   - a Range of length 0: Get Blob Properties only.
//
// Before it serves a byte, Get checks that the response carries exactly
// the bytes asked for ([objstore.Namespace.CheckServed]): a service or
// proxy that ignored the range fails the Get (rule G5).
//
// IfMatch and IfNoneMatch travel as If-Match and If-None-Match. Azure
// rejects If-None-Match: * on reads (400 UnsatisfiableCondition), so
// IfNoneMatch "*" is answered from Get Blob Properties: ErrNotModified
// when the object exists. The Reader's Attrs are Stat's, with the full
// Size; reading it after ctx is cancelled fails.
//
// When the body breaks midway on a network error, the read timeout
// (ErrReadTimeout) included, the Reader resumes with a ranged Get Blob for
// the bytes not yet read, pinned with If-Match to the ETag it started
// with (see [objstore.NewResumableReader]). The Get's requests and its
// resumptions share one retry budget: at most MaxRetries+1 HTTP attempts
// in all (rule R1). If the blob changed or was deleted meanwhile, Read
// returns ErrPrecondition.
func (s *Store) Get(ctx context.Context, key string, opts *objstore.GetOptions) (_ *objstore.Reader, err error) {
	full, err := s.ns.Get(key, opts)
	if err != nil {
		return nil, err
	}
	ctx, end, err := s.start(ctx, "get", key)
	if err != nil {
		return nil, err
	}
	defer func() { err = end(err) }()
	ctx = pipeline.Stream(ctx)
	var o objstore.GetOptions
	if opts != nil {
		o = *opts
	}
	bb := s.blob(full)
	if o.IfNoneMatch == "*" {
		// Any existing object matches "*"; a missing one is not found.
		if _, err := s.props(ctx, bb, key, o.IfMatch, ""); err != nil {
			return nil, err
		}
		return nil, failKind("get", key, objstore.ErrNotModified, errNotModified)
	}
	r := o.Range
	switch {
	case r != nil && r.Length == 0:
		a, err := s.props(ctx, bb, key, o.IfMatch, o.IfNoneMatch)
		if err != nil {
			return nil, err
		}
		off, _, err := s.ns.ResolveRange(key, r, a.Size)
		if err != nil {
			return nil, err
		}
		return objstore.NewReader(http.NoBody, a, off, 0), nil
	case r == nil || r.Offset == 0:
		resp, err := s.download(ctx, bb, key, nil, o)
		if err != nil {
			return nil, err
		}
		a, _, _, err := s.served(key, nil, resp)
		if err != nil {
			return nil, err
		}
		_, length, err := s.ns.ResolveRange(key, r, a.Size)
		if err != nil {
			resp.Body.Close()
			return nil, err
		}
		return objstore.NewResumableReader(ctx, &ctxBody{ctx: ctx, body: resp.Body}, a, 0, length, s.reopen(bb, key)), nil
	}
	resp, err := s.download(ctx, bb, key, r, o)
	var re *azcore.ResponseError
	if errors.As(err, &re) && re.StatusCode == http.StatusRequestedRangeNotSatisfiable {
		// The offset is at or past the end. Content-Range ("bytes */SIZE")
		// tells which; at the end, the Reader still needs the attributes.
		if size, ok := contentRangeSize(re.RawResponse.Header.Get("Content-Range")); ok && r.Offset > size {
			return nil, failKind("get", key, objstore.ErrInvalidRange,
				fmt.Errorf("Range.Offset %d is past the end of the %d-byte object", r.Offset, size))
		}
		a, err := s.props(ctx, bb, key, o.IfMatch, o.IfNoneMatch)
		if err != nil {
			return nil, err
		}
		off, _, err := s.ns.ResolveRange(key, r, a.Size)
		if err != nil {
			return nil, err
		}
		return objstore.NewReader(http.NoBody, a, off, 0), nil
	}
	if err != nil {
		return nil, err
	}
	a, off, length, err := s.served(key, r, resp)
	if err != nil {
		return nil, err
	}
	return objstore.NewResumableReader(ctx, &ctxBody{ctx: ctx, body: resp.Body}, a, off, length, s.reopen(bb, key)), nil
}

// httpRange returns the x-ms-range of r, nil for none: its end is
// r.Last(), or none when the range runs to the end (Count 0), so that a
// huge Length never overflows into a header the service would ignore.
func httpRange(r *objstore.Range) blob.HTTPRange {
	if r == nil {
		return blob.HTTPRange{}
	}
	rng := blob.HTTPRange{Offset: r.Offset}
	if _, bounded := r.Last(); bounded {
		rng.Count = r.Length
	}
	return rng
}

// served checks that a Get Blob response for asked (nil: the whole blob)
// carries exactly those bytes, with [objstore.Namespace.CheckServed], and
// returns the blob's attributes and the bytes it carries. On error it
// closes the body.
func (s *Store) served(key string, asked *objstore.Range, resp blob.DownloadStreamResponse) (a objstore.Attrs, offset, length int64, err error) {
	cl := int64(-1)
	if resp.ContentLength != nil {
		cl = *resp.ContentLength
	}
	offset, length, size, err := s.ns.CheckServed(key, asked, deref(resp.ContentRange), cl)
	if err != nil {
		resp.Body.Close()
		return objstore.Attrs{}, 0, 0, err
	}
	a = downloadAttrs(key, resp)
	a.Size = size
	return a, offset, length, nil
}

// reopen returns how a Reader of key resumes: one Get Blob of the bytes
// [offset, offset+length) with If-Match: etag. A changed or deleted blob
// gives ErrPrecondition, and so does a response that carries another ETag.
// A response for other bytes than those asked fails (CheckServed), so that
// no byte is served twice or skipped.
func (s *Store) reopen(bb *blockblob.Client, key string) objstore.ReopenFunc {
	return func(ctx context.Context, offset, length int64, etag string) (io.ReadCloser, error) {
		if err := s.begin(ctx, "get", key); err != nil {
			return nil, err
		}
		asked := &objstore.Range{Offset: offset, Length: length}
		resp, err := bb.DownloadStream(ctx, &blob.DownloadStreamOptions{
			Range:            httpRange(asked),
			AccessConditions: accessConditions(etag, ""),
		})
		if err != nil {
			return nil, s.fail("get", key, err, condIfMatch)
		}
		if resp.Body == nil {
			return nil, failKind("get", key, nil, fmt.Errorf("resuming the read at byte %d, Get Blob returned no body (%s)", offset, deref(resp.ErrorCode)))
		}
		if got := etagString(resp.ETag); got != etag {
			resp.Body.Close()
			return nil, failKind("get", key, objstore.ErrPrecondition,
				fmt.Errorf("resuming the read of ETag %s, the service answered with ETag %s", etag, got))
		}
		if _, _, n, err := s.served(key, asked, resp); err != nil {
			return nil, err
		} else if n != length {
			resp.Body.Close()
			return nil, failKind("get", key, nil,
				fmt.Errorf("resuming the read at byte %d, the service answered with %d bytes where %d were asked for (Content-Range %q)", offset, n, length, deref(resp.ContentRange)))
		}
		return &ctxBody{ctx: ctx, body: resp.Body}, nil
	}
}

// download sends Get Blob for r (nil: the whole blob). A 304, which the
// SDK returns as a response without error, becomes ErrNotModified.
func (s *Store) download(ctx context.Context, bb *blockblob.Client, key string, r *objstore.Range, o objstore.GetOptions) (blob.DownloadStreamResponse, error) {
	resp, err := bb.DownloadStream(ctx, &blob.DownloadStreamOptions{Range: httpRange(r), AccessConditions: accessConditions(o.IfMatch, o.IfNoneMatch)})
	if err != nil {
		var re *azcore.ResponseError
		if errors.As(err, &re) && re.StatusCode == http.StatusRequestedRangeNotSatisfiable {
			return resp, err // Get handles it
		}
		return resp, s.fail("get", key, err, condNone)
	}
	if resp.Body == nil {
		// azblob turns a 304 into a nil error with ErrorCode set and no body.
		return resp, failKind("get", key, objstore.ErrNotModified, fmt.Errorf("%w (%s)", errNotModified, deref(resp.ErrorCode)))
	}
	return resp, nil
}

// props sends Get Blob Properties with the given conditions.
func (s *Store) props(ctx context.Context, bb *blockblob.Client, key, ifMatch, ifNoneMatch string) (objstore.Attrs, error) {
	p, err := bb.GetProperties(ctx, &blob.GetPropertiesOptions{AccessConditions: accessConditions(ifMatch, ifNoneMatch)})
	if err != nil {
		return objstore.Attrs{}, s.fail("get", key, err, condNone)
	}
	return propsAttrs(key, p), nil
}

func accessConditions(ifMatch, ifNoneMatch string) *blob.AccessConditions {
	if ifMatch == "" && ifNoneMatch == "" {
		return nil
	}
	m := &blob.ModifiedAccessConditions{}
	if ifMatch != "" {
		m.IfMatch = toPtr(azcore.ETag(ifMatch))
	}
	if ifNoneMatch != "" {
		m.IfNoneMatch = toPtr(azcore.ETag(ifNoneMatch))
	}
	return &blob.AccessConditions{ModifiedAccessConditions: m}
}

// downloadAttrs returns the whole object's attributes from a Get Blob
// response: the size is Content-Range's total for a range, else
// Content-Length.
func downloadAttrs(key string, r blob.DownloadStreamResponse) objstore.Attrs {
	size := deref(r.ContentLength)
	if r.ContentRange != nil {
		if n, ok := contentRangeSize(*r.ContentRange); ok {
			size = n
		}
	}
	return objstore.Attrs{
		Key:         key,
		Size:        size,
		ETag:        etagString(r.ETag),
		ModTime:     timeOf(r.LastModified),
		ContentType: objstore.ContentTypeOrDefault(deref(r.ContentType)),
		Metadata:    metadataOut(r.Metadata),
	}
}

// contentRangeSize returns SIZE from "bytes A-B/SIZE" or "bytes */SIZE".
func contentRangeSize(v string) (int64, bool) {
	_, total, ok := strings.Cut(v, "/")
	if !ok || !strings.HasPrefix(v, "bytes ") {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(total), 10, 64)
	return n, err == nil && n >= 0
}

// ctxBody fails reads once ctx is done. The HTTP transport aborts the
// connection too, but asynchronously: bytes it already received could
// still be served after the cancel without this check.
type ctxBody struct {
	ctx  context.Context
	body io.ReadCloser
}

func (c *ctxBody) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.body.Read(p)
}

func (c *ctxBody) Close() error { return c.body.Close() }
