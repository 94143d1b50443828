package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"

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
			Range:       stringOrNil(rangeHeader(o.Range)),
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

// rangeHeader returns the Range header for r, or "" to read the whole
// object. r.Length is not zero.
func rangeHeader(r *objstore.Range) string {
	switch {
	case r == nil || r.Offset == 0 && r.Length < 0:
		return ""
	case r.Length < 0 || r.Length > math.MaxInt64-r.Offset:
		return fmt.Sprintf("bytes=%d-", r.Offset)
	}
	return fmt.Sprintf("bytes=%d-%d", r.Offset, r.Offset+r.Length-1)
}

// reader turns a GetObject response into a Reader that resumes with
// s.reopen.
func (s *Store) reader(ctx context.Context, key, full string, out *awss3.GetObjectOutput, rng *objstore.Range) (*objstore.Reader, error) {
	attrs := objstore.Attrs{
		Key:         key,
		ETag:        objstore.QuoteETag(aws.ToString(out.ETag)),
		ModTime:     aws.ToTime(out.LastModified).UTC(),
		ContentType: objstore.ContentTypeOrDefault(aws.ToString(out.ContentType)),
		Metadata:    objstore.NormalizeMetadata(out.Metadata),
	}
	n := aws.ToInt64(out.ContentLength)
	if out.ContentLength == nil || n < 0 {
		out.Body.Close()
		return nil, &objstore.Error{Driver: Scheme, Op: "get", Key: key, Err: errors.New("the response has no Content-Length")}
	}
	if cr := aws.ToString(out.ContentRange); cr != "" {
		start, end, size, ok := parseContentRange(cr)
		if !ok || end-start+1 != n {
			out.Body.Close()
			return nil, &objstore.Error{Driver: Scheme, Op: "get", Key: key,
				Err: fmt.Errorf("the response has Content-Range %q and Content-Length %d, which disagree", cr, n)}
		}
		attrs.Size = size
		return objstore.NewResumableReader(ctx, out.Body, attrs, start, n, s.reopen(key, full)), nil
	}
	// The whole object: no range was asked for, or the server ignored it.
	attrs.Size = n
	off, length, err := s.ns.ResolveRange(key, rng, n)
	if err != nil {
		out.Body.Close()
		return nil, err
	}
	if off > 0 {
		if _, err := io.CopyN(io.Discard, out.Body, off); err != nil {
			out.Body.Close()
			return nil, &objstore.Error{Driver: Scheme, Op: "get", Key: key, Err: err}
		}
	}
	return objstore.NewResumableReader(ctx, out.Body, attrs, off, length, s.reopen(key, full)), nil
}

// reopen returns how a Reader of key resumes: one GetObject of the bytes
// [offset, offset+length) with If-Match: etag. A changed or deleted object
// gives ErrPrecondition, and so does a response that carries another ETag
// (a server that ignored If-Match). A response for other bytes than those
// asked fails, so that no byte is served twice or skipped.
func (s *Store) reopen(key, full string) objstore.ReopenFunc {
	return func(ctx context.Context, offset, length int64, etag string) (io.ReadCloser, error) {
		if err := s.begin(ctx, "get", key); err != nil {
			return nil, err
		}
		out, err := s.client.GetObject(ctx, &awss3.GetObjectInput{
			Bucket:  &s.bucket,
			Key:     &full,
			Range:   aws.String(fmt.Sprintf("bytes=%d-%d", offset, offset+length-1)),
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
		cr := aws.ToString(out.ContentRange)
		first, last, _, ok := parseContentRange(cr)
		if !ok || first != offset || last != offset+length-1 || aws.ToInt64(out.ContentLength) != length {
			out.Body.Close()
			return nil, &objstore.Error{Driver: Scheme, Op: "get", Key: key,
				Err: fmt.Errorf("resuming the read at byte %d, the server answered with Content-Range %q and Content-Length %d", offset, cr, aws.ToInt64(out.ContentLength))}
		}
		return out.Body, nil
	}
}

// parseContentRange parses "bytes first-last/size".
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
	var err1, err2, err3 error
	first, err1 = strconv.ParseInt(a, 10, 64)
	last, err2 = strconv.ParseInt(b, 10, 64)
	size, err3 = strconv.ParseInt(total, 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || first < 0 || last < first || size <= last {
		return 0, 0, 0, false
	}
	return first, last, size, true
}
