package s3

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/driver"
)

// Get reads the bytes r asks for with one GetObject. The Object's Attrs
// come from the response's headers, its Size from Content-Range when a
// range is served, so no HeadObject is sent; which bytes the body carries
// comes from Content-Range and Content-Length (driver.ServedRange), and
// the portable store checks that they are the bytes asked for (rule G5).
//
// A range that starts at the end of the object, which S3 refuses with 416,
// is served as an empty body after one HeadObject learns the size; one
// that starts past the end gives ErrInvalidRange. A range of length zero
// asks with one HeadObject instead, since HTTP cannot ask for zero bytes.
// IfMatch and IfNoneMatch go to the server as If-Match and If-None-Match:
// 412 is ErrPrecondition and 304 ErrNotModified. A missing key gives
// ErrNotFound, a missing bucket ErrBucketNotFound.
//
// The portable store resumes a broken body with another Get pinned with
// If-Match; the Get's requests and its resumptions share one retry
// budget, the operation's (see Begin): at most MaxRetries+1 HTTP attempts
// in all (rule R1).
func (s *bucket) Get(ctx context.Context, key string, r driver.GetRequest) (driver.Object, error) {
	o := objstore.GetOptions{IfMatch: r.IfMatch, IfNoneMatch: r.IfNoneMatch}
	if r.Offset != 0 || r.Length >= 0 {
		o.Range = &objstore.Range{Offset: r.Offset, Length: r.Length}
	}
	if o.Range != nil && o.Range.Length == 0 {
		obj, _, err := s.getNothing(ctx, key, &o)
		return obj, err
	}
	// The loop runs again only when the object grew between a 416 and the
	// HeadObject that followed it.
	for attempt := 0; ; attempt++ {
		out, err := s.client.GetObject(ctx, &awss3.GetObjectInput{
			Bucket:      &s.bucket,
			Key:         &key,
			Range:       stringOrNil(rangeHeader(o.Range)),
			IfMatch:     stringOrNil(o.IfMatch),
			IfNoneMatch: stringOrNil(o.IfNoneMatch),
		}, s.callOpts...)
		if err == nil {
			return served(key, out)
		}
		err = s.fail(ctx, "get", key, err, condNone)
		if o.Range == nil || !errors.Is(err, objstore.ErrInvalidRange) || attempt == 2 {
			return driver.Object{}, err
		}
		obj, retry, err := s.getNothing(ctx, key, &o)
		if !retry {
			return obj, err
		}
	}
}

// getNothing serves a Get that reads no bytes: a range of length zero, or
// one S3 refused with 416. One HeadObject, with the Get's conditions,
// gives the attributes and the size to resolve the range against. retry
// reports a range that does serve bytes, which a 416 cannot have meant
// unless the object changed since.
func (s *bucket) getNothing(ctx context.Context, key string, o *objstore.GetOptions) (obj driver.Object, retry bool, err error) {
	out, err := s.client.HeadObject(ctx, &awss3.HeadObjectInput{
		Bucket:      &s.bucket,
		Key:         &key,
		IfMatch:     stringOrNil(o.IfMatch),
		IfNoneMatch: stringOrNil(o.IfNoneMatch),
	}, s.callOpts...)
	if err != nil {
		return driver.Object{}, false, s.fail(ctx, "get", key, err, condNone)
	}
	attrs := headAttrs(key, out)
	off, n, err := driver.Resolve(driver.GetRequest{Offset: o.Range.Offset, Length: o.Range.Length}, attrs.Size)
	switch {
	case err != nil:
		return driver.Object{}, false, err
	case n > 0:
		return driver.Object{}, true, nil
	}
	return driver.Object{Attrs: attrs, Offset: off, Body: http.NoBody}, false, nil
}

// rangeHeader returns the Range header that asks for r, or "" for none:
// no header for the whole object. Its end is r.Last(), so that a huge
// Length never overflows (rule G3). r.Length is not zero.
func rangeHeader(r *objstore.Range) string {
	if r == nil {
		return ""
	}
	last, bounded := r.Last()
	switch {
	case bounded:
		return fmt.Sprintf("bytes=%d-%d", r.Offset, last)
	case r.Offset == 0:
		return ""
	}
	return fmt.Sprintf("bytes=%d-", r.Offset)
}

// served returns a GetObject response as the Object it carries: the
// object's attributes, and the bytes of its body by its Content-Range and
// Content-Length. On error it closes the body.
func served(key string, out *awss3.GetObjectOutput) (driver.Object, error) {
	cl := int64(-1)
	if out.ContentLength != nil {
		cl = *out.ContentLength
	}
	offset, length, size, err := driver.ServedRange(aws.ToString(out.ContentRange), cl)
	if err != nil {
		out.Body.Close()
		return driver.Object{}, err
	}
	return driver.Object{
		Attrs: driver.Attrs{
			Key:         key,
			Size:        size,
			ETag:        driver.QuoteETag(aws.ToString(out.ETag)),
			ModTime:     aws.ToTime(out.LastModified).UTC(),
			ContentType: driver.ContentTypeOrDefault(aws.ToString(out.ContentType)),
			Metadata:    driver.NormalizeMetadata(out.Metadata),
		},
		Offset: offset, Length: length, Body: out.Body,
	}, nil
}
