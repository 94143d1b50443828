package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/internal/pipeline"
)

// Get opens the object at key, or the range opts asks for, with one
// GetObject. The Reader's Attrs come from the response's headers, its Size
// from Content-Range when a range is served, so no HeadObject is sent.
//
// A range that starts at the end of the object, which S3 refuses with 416,
// is served as an empty Reader after one HeadObject learns the size; one
// that starts past the end gives ErrInvalidRange. A range of length zero
// asks with one HeadObject instead, since HTTP cannot ask for zero bytes.
// IfMatch and IfNoneMatch go to the server as If-Match and If-None-Match:
// 412 is ErrPrecondition and 304 ErrNotModified. A missing key gives
// ErrNotFound, a missing bucket ErrBucketNotFound.
//
// Before it serves a byte, Get checks that the response carries exactly
// the bytes asked for ([objstore.Namespace.CheckServed]): a server or
// proxy that ignored the Range header fails the Get (rule G5).
//
// When the body breaks midway on a network error, the Reader resumes with
// a ranged GetObject for the bytes not yet read, pinned with If-Match to
// the ETag it started with (see [objstore.NewResumableReader]). The Get's
// requests and its resumptions share one retry budget: at most
// MaxRetries+1 HTTP attempts in all (rule R1). If the object changed or
// was deleted meanwhile, Read returns ErrPrecondition.
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
	if o.Range != nil && o.Range.Length == 0 {
		r, _, err := s.getNothing(ctx, key, full, &o)
		return r, err
	}
	// The loop runs again only when the object grew between a 416 and the
	// HeadObject that followed it.
	for attempt := 0; ; attempt++ {
		out, err := s.client.GetObject(ctx, &awss3.GetObjectInput{
			Bucket:      &s.bucket,
			Key:         &full,
			Range:       stringOrNil(rangeHeader(asked(o.Range))),
			IfMatch:     stringOrNil(o.IfMatch),
			IfNoneMatch: stringOrNil(o.IfNoneMatch),
		}, s.callOpts...)
		if err == nil {
			return s.reader(ctx, key, full, out, o.Range)
		}
		err = s.fail(ctx, "get", key, err, condNone)
		if o.Range == nil || !errors.Is(err, objstore.ErrInvalidRange) || attempt == 2 {
			return nil, err
		}
		r, retry, err := s.getNothing(ctx, key, full, &o)
		if !retry {
			return r, err
		}
	}
}

// getNothing serves a Get that reads no bytes: a range of length zero, or
// one S3 refused with 416. One HeadObject, with the Get's conditions,
// gives the attributes and the size to resolve the range against. retry
// reports a range that does serve bytes, which a 416 cannot have meant
// unless the object changed since.
func (s *Store) getNothing(ctx context.Context, key, full string, o *objstore.GetOptions) (r *objstore.Reader, retry bool, err error) {
	out, err := s.client.HeadObject(ctx, &awss3.HeadObjectInput{
		Bucket:      &s.bucket,
		Key:         &full,
		IfMatch:     stringOrNil(o.IfMatch),
		IfNoneMatch: stringOrNil(o.IfNoneMatch),
	}, s.callOpts...)
	if err != nil {
		return nil, false, s.fail(ctx, "get", key, err, condNone)
	}
	attrs := headAttrs(key, out)
	off, n, err := s.ns.ResolveRange(key, o.Range, attrs.Size)
	switch {
	case err != nil:
		return nil, false, err
	case n > 0 && o.Range.Length != 0:
		return nil, true, nil
	}
	return objstore.NewReader(http.NoBody, attrs, off, 0), false, nil
}

// asked returns the range a GetObject for r asks the server for: nil, no
// Range header, for the whole object. r.Length is not zero.
func asked(r *objstore.Range) *objstore.Range {
	if r == nil {
		return nil
	}
	if _, bounded := r.Last(); r.Offset == 0 && !bounded {
		return nil
	}
	return r
}

// rangeHeader returns the Range header that asks for r, or "" for none.
// Its end is r.Last(), so that a huge Length never overflows (rule G3).
func rangeHeader(r *objstore.Range) string {
	if r == nil {
		return ""
	}
	if last, bounded := r.Last(); bounded {
		return fmt.Sprintf("bytes=%d-%d", r.Offset, last)
	}
	return fmt.Sprintf("bytes=%d-", r.Offset)
}

// served checks that a GetObject response for asked (nil: the whole
// object) carries exactly those bytes, with
// [objstore.Namespace.CheckServed], and returns the object's attributes
// and the bytes it carries. On error it closes the body.
func (s *Store) served(key string, asked *objstore.Range, out *awss3.GetObjectOutput) (attrs objstore.Attrs, offset, length int64, err error) {
	cl := int64(-1)
	if out.ContentLength != nil {
		cl = *out.ContentLength
	}
	offset, length, size, err := s.ns.CheckServed(key, asked, aws.ToString(out.ContentRange), cl)
	if err != nil {
		out.Body.Close()
		return objstore.Attrs{}, 0, 0, err
	}
	return objstore.Attrs{
		Key:         key,
		Size:        size,
		ETag:        objstore.QuoteETag(aws.ToString(out.ETag)),
		ModTime:     aws.ToTime(out.LastModified).UTC(),
		ContentType: objstore.ContentTypeOrDefault(aws.ToString(out.ContentType)),
		Metadata:    objstore.NormalizeMetadata(out.Metadata),
	}, offset, length, nil
}

// reader turns a GetObject response for rng into a Reader that resumes
// with s.reopen, once served has checked it.
func (s *Store) reader(ctx context.Context, key, full string, out *awss3.GetObjectOutput, rng *objstore.Range) (*objstore.Reader, error) {
	attrs, off, length, err := s.served(key, asked(rng), out)
	if err != nil {
		return nil, err
	}
	return objstore.NewResumableReader(ctx, out.Body, attrs, off, length, s.reopen(key, full)), nil
}

// reopen returns how a Reader of key resumes: one GetObject of the bytes
// [offset, offset+length) with If-Match: etag. A changed or deleted object
// gives ErrPrecondition, and so does a response that carries another ETag
// (a server that ignored If-Match). A response for other bytes than those
// asked fails (CheckServed), so that no byte is served twice or skipped.
func (s *Store) reopen(key, full string) objstore.ReopenFunc {
	return func(ctx context.Context, offset, length int64, etag string) (io.ReadCloser, error) {
		if err := s.begin(ctx, "get", key); err != nil {
			return nil, err
		}
		want := &objstore.Range{Offset: offset, Length: length}
		out, err := s.client.GetObject(ctx, &awss3.GetObjectInput{
			Bucket:  &s.bucket,
			Key:     &full,
			Range:   aws.String(rangeHeader(want)),
			IfMatch: &etag,
		}, s.callOpts...)
		if err != nil {
			return nil, s.fail(ctx, "get", key, err, condIfMatch)
		}
		if got := objstore.QuoteETag(aws.ToString(out.ETag)); got != etag {
			out.Body.Close()
			return nil, &objstore.Error{Driver: Scheme, Op: "get", Key: key, Kind: objstore.ErrPrecondition,
				Err: fmt.Errorf("resuming the read of ETag %s, the server answered with ETag %s", etag, got)}
		}
		if _, _, n, err := s.served(key, want, out); err != nil {
			return nil, err
		} else if n != length {
			out.Body.Close()
			return nil, &objstore.Error{Driver: Scheme, Op: "get", Key: key,
				Err: fmt.Errorf("resuming the read at byte %d, the server answered with %d bytes where %d were asked for (Content-Range %q)", offset, n, length, aws.ToString(out.ContentRange))}
		}
		return out.Body, nil
	}
}
