package s3

import (
	"bytes"
	"context"
	"io"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/internal/ctxio"
)

// Put writes body to key. A body of up to MultipartThreshold bytes (the
// part size by default) is read into memory and sent with one PutObject;
// a larger one, whose size need not be known, is sent as a multipart
// upload (see Options.PartSize and Options.Concurrency for its memory).
//
// IfAbsent sends If-None-Match: * and IfMatch sends If-Match, on PutObject
// or on CompleteMultipartUpload, so the check and the write are one step
// on the server; a conditional multipart upload also checks with one
// HeadObject before it sends any part, to fail early. A key that exists
// gives ErrExists for IfAbsent; a stale ETag, or a missing key, gives
// ErrPrecondition for IfMatch.
//
// An error reading body, a cancelled context or a failed request leaves
// the previous object in place: a single put is never sent, a multipart
// upload is aborted. The returned ModTime is the Date of the server's
// response, as S3 does not return the stored time from a write; it may
// precede Stat's by the request's duration, rounded to seconds.
func (s *Store) Put(ctx context.Context, key string, body io.Reader, opts *objstore.PutOptions) (objstore.Attrs, error) {
	full, err := s.ns.Put(key, opts)
	if err != nil {
		return objstore.Attrs{}, err
	}
	if err := s.begin(ctx, "put", key); err != nil {
		return objstore.Attrs{}, err
	}
	var o objstore.PutOptions
	if opts != nil {
		o = *opts
	}
	if body == nil {
		body = http.NoBody
	}
	plan := s.plan(&o)
	r := &ctxio.Reader{Ctx: ctx, R: body}
	first, whole, err := readFirst(r, plan.threshold, sizeHint(body))
	if err != nil {
		return objstore.Attrs{}, &objstore.Error{Driver: Scheme, Op: "put", Key: key, Err: err}
	}
	if whole {
		return s.putObject(ctx, key, full, first, &o)
	}
	return s.putMultipart(ctx, key, full, first, r, &o, plan)
}

// putCond is the condition a put carries.
func putCond(o *objstore.PutOptions) cond {
	switch {
	case o.IfAbsent:
		return condIfAbsent
	case o.IfMatch != "":
		return condIfMatch
	}
	return condNone
}

// ifNoneMatch returns the If-None-Match value of an IfAbsent write.
func ifNoneMatch(ifAbsent bool) *string {
	if ifAbsent {
		return aws.String("*")
	}
	return nil
}

// putObject writes data with one PutObject.
func (s *Store) putObject(ctx context.Context, key, full string, data []byte, o *objstore.PutOptions) (objstore.Attrs, error) {
	ct := objstore.ContentTypeOrDefault(o.ContentType)
	md := objstore.NormalizeMetadata(o.Metadata)
	out, err := s.client.PutObject(ctx, &awss3.PutObjectInput{
		Bucket:        &s.bucket,
		Key:           &full,
		Body:          bytes.NewReader(data),
		ContentLength: aws.Int64(int64(len(data))),
		ContentType:   &ct,
		Metadata:      md,
		IfNoneMatch:   ifNoneMatch(o.IfAbsent),
		IfMatch:       stringOrNil(o.IfMatch),
	}, s.callOpts...)
	if err != nil {
		return objstore.Attrs{}, s.fail(ctx, "put", key, err, putCond(o))
	}
	return objstore.Attrs{
		Key:         key,
		Size:        int64(len(data)),
		ETag:        objstore.QuoteETag(aws.ToString(out.ETag)),
		ModTime:     serverTime(out.ResultMetadata),
		ContentType: ct,
		Metadata:    md,
	}, nil
}

// sizeHint returns the number of bytes body holds when it says (a
// bytes.Reader, strings.Reader or bytes.Buffer), or -1.
func sizeHint(body io.Reader) int64 {
	if l, ok := body.(interface{ Len() int }); ok {
		return int64(l.Len())
	}
	return -1
}

// A body of unknown size is read into a buffer that starts at firstChunk
// bytes and doubles up to bigChunk; past that it is grown to its limit at
// once, so that finding out that a body is large costs under 2×bigChunk
// bytes besides the buffer that becomes the first part.
const (
	firstChunk = 64 << 10
	bigChunk   = 1 << 20
)

// readFirst reads up to limit+1 bytes of r. whole reports that r ended
// within limit bytes, which are then all of it. hint, when not negative,
// is the size r is expected to have.
func readFirst(r io.Reader, limit, hint int64) (buf []byte, whole bool, err error) {
	c := min(int64(firstChunk), limit+1)
	if hint >= 0 {
		c = min(hint+1, limit+1)
	}
	buf = make([]byte, 0, c)
	for {
		if len(buf) == cap(buf) {
			if int64(len(buf)) > limit {
				return buf, false, nil
			}
			next := limit + 1
			if c := 2 * int64(cap(buf)); c <= bigChunk {
				next = min(c, next)
			}
			grown := make([]byte, len(buf), next)
			copy(grown, buf)
			buf = grown
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		switch {
		case err == io.EOF:
			return buf, true, nil
		case err != nil:
			return nil, false, err
		}
	}
}
