package s3

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/internal/ctxio"
)

// Put writes body to key. A body of up to MultipartThreshold bytes (the
// part size by default) is sent with one PutObject; a larger one, whose
// size need not be known, is sent as a multipart upload. A body that
// objstore.ReaderAtBody accepts (an *io.SectionReader, the body
// objstore.UploadFile passes) is read with ReadAt: each part, and a single
// PutObject, is a section of it read as it is sent, Concurrency parts at
// a time, so that no part is buffered and the SDK can send a failed part
// again on its own. Any other body is read in order into part buffers (see
// Options.PartSize and Options.Concurrency for its memory).
//
// IfAbsent sends If-None-Match: * and IfMatch sends If-Match, on PutObject
// or on CompleteMultipartUpload, so the check and the write are one step
// on the server; a conditional multipart upload also checks with one
// HeadObject before it sends any part, to fail early. A key that exists
// gives ErrExists for IfAbsent; a stale ETag, or a missing key, gives
// ErrPrecondition for IfMatch.
//
// Progress counts the parts S3 has acknowledged, or for one PutObject the
// bytes of the body the transport has read.
//
// An error reading body, a cancelled context or a failed request leaves
// the previous object in place: a single PutObject is not sent, or not
// completed, a multipart upload is aborted. The returned ModTime is the Date of the server's
// response, as S3 does not return the stored time from a write; it may
// precede Stat's by the request's duration, rounded to seconds.
func (s *Store) Put(ctx context.Context, key string, body io.Reader, opts *objstore.PutOptions) (_ objstore.Attrs, err error) {
	full, err := s.ns.Put(key, opts)
	if err != nil {
		return objstore.Attrs{}, err
	}
	ctx, end, err := s.start(ctx, "put", key)
	if err != nil {
		return objstore.Attrs{}, err
	}
	defer func() { err = end(err) }()
	var o objstore.PutOptions
	if opts != nil {
		o = *opts
	}
	if body == nil {
		body = http.NoBody
	}
	plan := s.plan(&o)
	prog := objstore.NewProgress(o.Progress)
	defer prog.Stop()
	var a objstore.Attrs
	if ra, size, ok := objstore.ReaderAtBody(body); ok {
		a, err = s.putAt(ctx, key, full, ra, size, &o, &plan, prog)
	} else {
		a, err = s.putStream(ctx, key, full, body, &o, &plan, prog)
	}
	if err != nil {
		return objstore.Attrs{}, err
	}
	prog.Finish(a.Size)
	return a, nil
}

// putStream writes a body read in order: into memory up to the threshold,
// then as a multipart upload of part buffers.
func (s *Store) putStream(ctx context.Context, key, full string, body io.Reader, o *objstore.PutOptions, plan *uploadPlan, prog *objstore.Progress) (objstore.Attrs, error) {
	r := &ctxio.Reader{Ctx: ctx, R: body}
	hint := sizeHint(body)
	first, whole, err := readFirst(r, plan.threshold, hint)
	if err != nil {
		return objstore.Attrs{}, &objstore.Error{Driver: Scheme, Op: "put", Key: key, Err: err}
	}
	if whole {
		size := int64(len(first))
		prog.Start(size)
		return s.putObject(ctx, key, full, bytes.NewReader(first), size, o, prog)
	}
	prog.Start(hint)
	return s.putMultipart(ctx, key, full, o, func(ctx context.Context, up *upload) ([]types.CompletedPart, int64, error) {
		return up.sendParts(ctx, first, r, plan, prog)
	})
}

// putAt writes the size bytes of body, read with ReadAt: with one
// PutObject up to the threshold, else as a multipart upload of sections.
func (s *Store) putAt(ctx context.Context, key, full string, r io.ReaderAt, size int64, o *objstore.PutOptions, plan *uploadPlan, prog *objstore.Progress) (objstore.Attrs, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	body := &bodyAt{r: r, cancel: cancel}
	prog.Start(size)
	if size <= plan.threshold {
		a, err := s.putObject(ctx, key, full, io.NewSectionReader(body, 0, size), size, o, prog)
		if err != nil {
			return objstore.Attrs{}, body.failed("put", key, err)
		}
		return a, nil
	}
	partSize := max(plan.partSize, (size+int64(maxParts)-1)/int64(maxParts))
	if partSize > maxPartSize {
		return objstore.Attrs{}, &objstore.Error{Driver: Scheme, Op: "put", Key: key, Kind: objstore.ErrInvalidArgument,
			Err: errTooLarge{maxParts}}
	}
	return s.putMultipart(ctx, key, full, o, func(ctx context.Context, up *upload) ([]types.CompletedPart, int64, error) {
		return up.sendPartsAt(ctx, body, size, partSize, plan.conc, prog)
	})
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

// putObject writes the size bytes of body with one PutObject. prog gets
// the bytes the transport reads from body.
func (s *Store) putObject(ctx context.Context, key, full string, body io.ReadSeeker, size int64, o *objstore.PutOptions, prog *objstore.Progress) (objstore.Attrs, error) {
	ct := objstore.ContentTypeOrDefault(o.ContentType)
	md := objstore.NormalizeMetadata(o.Metadata)
	callOpts := s.callOpts
	if prog != nil && size > 0 {
		callOpts = append(slices.Clip(callOpts), sentBody(prog, size))
	}
	out, err := s.client.PutObject(ctx, &awss3.PutObjectInput{
		Bucket:        &s.bucket,
		Key:           &full,
		Body:          body,
		ContentLength: aws.Int64(size),
		ContentType:   &ct,
		Metadata:      md,
		IfNoneMatch:   ifNoneMatch(o.IfAbsent),
		IfMatch:       stringOrNil(o.IfMatch),
	}, callOpts...)
	if err != nil {
		return objstore.Attrs{}, s.fail(ctx, "put", key, err, putCond(o))
	}
	return objstore.Attrs{
		Key:         key,
		Size:        size,
		ETag:        objstore.QuoteETag(aws.ToString(out.ETag)),
		ModTime:     serverTime(out.ResultMetadata),
		ContentType: ct,
		Metadata:    md,
	}, nil
}

// sentBody is a call option that reports to prog how far the transport
// has read the request body, of size bytes. It wraps the body after the
// request is signed, so that the SDK's own reads (the payload hash over
// plain HTTP) are not counted, and before the pipeline's rewind (see
// addRewind), so that an attempt that sends the body again goes through
// the wrapper too; it moves progress only past the furthest an earlier
// attempt reached.
func sentBody(prog *objstore.Progress, size int64) func(*awss3.Options) {
	mw := middleware.FinalizeMiddlewareFunc("objstore.progress", func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
		if req, ok := in.Request.(*smithyhttp.Request); ok && req.GetStream() != nil {
			if r, err := req.SetStream(&sentReader{r: req.GetStream(), size: size, prog: prog}); err == nil {
				in.Request = r
			}
		}
		return next.HandleFinalize(ctx, in)
	})
	return func(o *awss3.Options) {
		o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
			if _, ok := st.Finalize.Get(rewindID); ok {
				return st.Finalize.Insert(mw, rewindID, middleware.Before)
			}
			return st.Finalize.Add(mw, middleware.After)
		})
	}
}

// rewindID is the ID of the middleware that lets the pipeline rewind a
// request body (addRewind).
const rewindID = "objstore.rewind"

// sentReader reports the position it has read r to, at most size (a
// checksum trailer may add bytes), to prog. It seeks when r does, so that
// the request stays as rewindable as it was.
type sentReader struct {
	r    io.Reader
	pos  int64
	size int64
	prog *objstore.Progress
}

func (r *sentReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.pos += int64(n)
	r.prog.Reached(min(r.pos, r.size))
	return n, err
}

func (r *sentReader) Seek(offset int64, whence int) (int64, error) {
	s, ok := r.r.(io.Seeker)
	if !ok {
		return 0, errors.New("the request body cannot seek")
	}
	pos, err := s.Seek(offset, whence)
	if err == nil {
		r.pos = pos
	}
	return pos, err
}

// bodyAt is a body read with ReadAt, in sections, by concurrent requests.
// It keeps the first error the body returns, so that the Put reports the
// body's failure rather than the request's, and then cancels the requests
// that read it (cancel): no retry, whichever layer would make it, can cure
// a failed body. The error also says so to the SDKs' retry policies.
type bodyAt struct {
	r      io.ReaderAt
	cancel context.CancelCauseFunc

	mu    sync.Mutex
	first error
}

func (b *bodyAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := b.r.ReadAt(p, off)
	if err != nil && err != io.EOF {
		b.mu.Lock()
		if b.first == nil {
			b.first = err
		}
		b.mu.Unlock()
		b.cancel(err)
		return n, bodyError{err}
	}
	return n, err
}

// failed returns the error of a request that read b: b's own first
// error, if it had one, else err classified.
func (b *bodyAt) failed(op, key string, err error) error {
	b.mu.Lock()
	first := b.first
	b.mu.Unlock()
	if first != nil {
		return &objstore.Error{Driver: Scheme, Op: op, Key: key, Err: first}
	}
	return err
}

// bodyError is a failure of the body, which no retry can cure.
type bodyError struct{ err error }

func (e bodyError) Error() string { return e.err.Error() }
func (e bodyError) Unwrap() error { return e.err }

// RetryableError tells the AWS SDK's retryer not to send the request
// again, and NonRetriable tells azcore's.
func (bodyError) RetryableError() bool { return false }
func (bodyError) NonRetriable()        {}

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
