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
	"github.com/objstore-go/objstore/driver"
)

var errNotModified = errors.New("the ETag matches IfNoneMatch")

// Get reads the bytes r asks for, with one request in the common cases:
//
//   - a read from offset 0: Get Blob without a Range header, so that a
//     zero-byte blob, which answers any Range with 416, reads as empty. A
//     read of n bytes from 0 serves the first n bytes of that response
//     and closes it; for a large blob the rest of the connection is
//     dropped.
//   - a read from a later offset: Get Blob with x-ms-range. An offset
//     equal to the size serves nothing, found from the 416's
//     Content-Range plus one Get Blob Properties for the attributes; an
//     offset past the size gives ErrInvalidRange.
//   - a read of length 0: Get Blob Properties only.
//
// Which bytes a response carries comes from its Content-Range and
// Content-Length (driver.ServedRange); the portable store checks that
// they are the bytes asked for before it serves one (rule G5).
//
// IfMatch and IfNoneMatch travel as If-Match and If-None-Match. Azure
// rejects If-None-Match: * on reads (400 UnsatisfiableCondition), so
// IfNoneMatch "*" is answered from Get Blob Properties: ErrNotModified
// when the object exists. Reading the body after ctx is cancelled fails.
//
// The portable store resumes a broken body, the read timeout
// (ErrReadTimeout) included, with another Get pinned with If-Match; the
// Get's requests and its resumptions share one retry budget, the
// operation's (see Begin): at most MaxRetries+1 HTTP attempts in all
// (rule R1).
func (s *bucket) Get(ctx context.Context, key string, r driver.GetRequest) (driver.Object, error) {
	bb := s.blob(key)
	if r.IfNoneMatch == "*" {
		// Any existing object matches "*"; a missing one is not found.
		if _, err := s.props(ctx, bb, key, r.IfMatch, ""); err != nil {
			return driver.Object{}, err
		}
		return driver.Object{}, failKind("get", key, objstore.ErrNotModified, errNotModified)
	}
	switch {
	case r.Length == 0:
		return s.nothing(ctx, bb, key, r)
	case r.Offset == 0:
		resp, err := s.download(ctx, bb, key, nil, r)
		if err != nil {
			return driver.Object{}, err
		}
		obj, err := served(ctx, key, resp)
		if err != nil {
			return driver.Object{}, err
		}
		if obj.Offset == 0 && obj.Length == obj.Attrs.Size {
			// The whole blob came; serve the bytes asked for from its start.
			_, obj.Length, _ = driver.Resolve(r, obj.Attrs.Size)
		}
		return obj, nil
	}
	rng := &objstore.Range{Offset: r.Offset, Length: r.Length}
	resp, err := s.download(ctx, bb, key, rng, r)
	var re *azcore.ResponseError
	if errors.As(err, &re) && re.StatusCode == http.StatusRequestedRangeNotSatisfiable {
		// The offset is at or past the end. Content-Range ("bytes */SIZE")
		// tells which; at the end, the Reader still needs the attributes.
		if size, ok := contentRangeSize(re.RawResponse.Header.Get("Content-Range")); ok && r.Offset > size {
			return driver.Object{}, failKind("get", key, objstore.ErrInvalidRange,
				fmt.Errorf("Range.Offset %d is past the end of the %d-byte object", r.Offset, size))
		}
		return s.nothing(ctx, bb, key, r)
	}
	if err != nil {
		return driver.Object{}, err
	}
	return served(ctx, key, resp)
}

// nothing serves a read of no bytes from Get Blob Properties, with the
// read's conditions: its length is 0, or its offset is at the end.
func (s *bucket) nothing(ctx context.Context, bb *blockblob.Client, key string, r driver.GetRequest) (driver.Object, error) {
	a, err := s.props(ctx, bb, key, r.IfMatch, r.IfNoneMatch)
	if err != nil {
		return driver.Object{}, err
	}
	off, _, err := driver.Resolve(r, a.Size)
	if err != nil {
		return driver.Object{}, err
	}
	return driver.Object{Attrs: a, Offset: off, Body: http.NoBody}, nil
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

// served returns a Get Blob response as the Object it carries: the
// blob's attributes, and the bytes of its body by its Content-Range and
// Content-Length. Reading the body fails once ctx is done. On error it
// closes the body.
func served(ctx context.Context, key string, resp blob.DownloadStreamResponse) (driver.Object, error) {
	cl := int64(-1)
	if resp.ContentLength != nil {
		cl = *resp.ContentLength
	}
	offset, length, size, err := driver.ServedRange(deref(resp.ContentRange), cl)
	if err != nil {
		resp.Body.Close()
		return driver.Object{}, err
	}
	a := downloadAttrs(key, resp)
	a.Size = size
	return driver.Object{Attrs: a, Offset: offset, Length: length, Body: &ctxBody{ctx: ctx, body: resp.Body}}, nil
}

// download sends Get Blob for r (nil: the whole blob). A 304, which the
// SDK returns as a response without error, becomes ErrNotModified.
func (s *bucket) download(ctx context.Context, bb *blockblob.Client, key string, r *objstore.Range, o driver.GetRequest) (blob.DownloadStreamResponse, error) {
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
func (s *bucket) props(ctx context.Context, bb *blockblob.Client, key, ifMatch, ifNoneMatch string) (driver.Attrs, error) {
	p, err := bb.GetProperties(ctx, &blob.GetPropertiesOptions{AccessConditions: accessConditions(ifMatch, ifNoneMatch)})
	if err != nil {
		return driver.Attrs{}, s.fail("get", key, err, condNone)
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
func downloadAttrs(key string, r blob.DownloadStreamResponse) driver.Attrs {
	size := deref(r.ContentLength)
	if r.ContentRange != nil {
		if n, ok := contentRangeSize(*r.ContentRange); ok {
			size = n
		}
	}
	return driver.Attrs{
		Key:         key,
		Size:        size,
		ETag:        etagString(r.ETag),
		ModTime:     timeOf(r.LastModified),
		ContentType: driver.ContentTypeOrDefault(deref(r.ContentType)),
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
