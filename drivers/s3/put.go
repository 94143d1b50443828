package s3

import (
	"bytes"
	"context"
	"io"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/driver"
	"github.com/objstore-go/objstore/internal/ctxio"
	"github.com/objstore-go/objstore/internal/parts"
	"github.com/objstore-go/objstore/internal/pipeline"
)

// Put writes body to key. A body of up to MultipartThreshold bytes (the
// part size by default) is sent with one PutObject; a larger one, whose
// size need not be known, is sent as a multipart upload. A body that
// driver.ReaderAtBody accepts (an *io.SectionReader, the body
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
// completed, a multipart upload is aborted. A request whose answer was
// lost may have been carried out all the same; Put then looks at the key
// before it reports a failure (rule P10 in docs/SEMANTICS.md): a write it
// finds stored is a success, and one it cannot tell from another writer's
// gets an error with no class that says it may have been stored. The returned ModTime is the Date of the server's
// response, as S3 does not return the stored time from a write; it may
// precede Stat's by the request's duration, rounded to seconds.
func (s *bucket) Put(ctx context.Context, key string, body io.Reader, r driver.PutRequest) (driver.Attrs, error) {
	o := objstore.PutOptions{ContentType: r.ContentType, Metadata: r.Metadata, IfAbsent: r.IfAbsent, IfMatch: r.IfMatch,
		PartSize: r.PartSize, Concurrency: r.Concurrency}
	plan := s.plan(&o)
	if ra, size, ok := driver.ReaderAtBody(body); ok {
		return s.putAt(ctx, key, key, ra, size, &o, &plan, r.Progress)
	}
	return s.putStream(ctx, key, key, body, &o, &plan, r.Progress)
}

// putStream writes a body read in order: into memory up to the threshold,
// then as a multipart upload of part buffers.
func (s *bucket) putStream(ctx context.Context, key, full string, body io.Reader, o *objstore.PutOptions, plan *uploadPlan, prog driver.Progress) (driver.Attrs, error) {
	r := &ctxio.Reader{Ctx: ctx, R: body}
	hint := sizeHint(body)
	first, whole, err := readFirst(r, plan.threshold, hint)
	if err != nil {
		return driver.Attrs{}, &driver.Error{Err: err}
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
func (s *bucket) putAt(ctx context.Context, key, full string, r io.ReaderAt, size int64, o *objstore.PutOptions, plan *uploadPlan, prog driver.Progress) (driver.Attrs, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	body := parts.NewBody(r, cancel)
	prog.Start(size)
	if size <= plan.threshold {
		a, err := s.putObject(ctx, key, full, io.NewSectionReader(body, 0, size), size, o, prog)
		if err != nil {
			return driver.Attrs{}, body.Failed(Scheme, "put", key, err)
		}
		return a, nil
	}
	partSize := max(plan.partSize, (size+int64(maxParts)-1)/int64(maxParts))
	if partSize > maxPartSize {
		return driver.Attrs{}, &driver.Error{Kind: objstore.ErrInvalidArgument,
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
func (s *bucket) putObject(ctx context.Context, key, full string, body io.ReadSeeker, size int64, o *objstore.PutOptions, prog driver.Progress) (driver.Attrs, error) {
	ct := driver.ContentTypeOrDefault(o.ContentType)
	md := driver.NormalizeMetadata(o.Metadata)
	callOpts := s.callOpts
	if size > 0 {
		callOpts = append(slices.Clip(callOpts), sentBody(prog, size))
	}
	c := putCond(o)
	tctx, answers := pipeline.TrackAnswers(ctx)
	out, err := s.client.PutObject(tctx, &awss3.PutObjectInput{
		Bucket:        &s.bucket,
		Key:           &full,
		Body:          &ctxio.ReadSeeker{Ctx: ctx, R: body},
		ContentLength: aws.Int64(size),
		ContentType:   &ct,
		Metadata:      md,
		IfNoneMatch:   ifNoneMatch(o.IfAbsent),
		IfMatch:       stringOrNil(o.IfMatch),
	}, callOpts...)
	if err != nil {
		failed := s.fail(ctx, "put", key, err, c)
		if !answers.Lost() {
			return driver.Attrs{}, failed
		}
		head, err := s.settlePut(ctx, "put", key, full, body, size, ct, md, c, err, failed)
		if err != nil {
			return driver.Attrs{}, err
		}
		return headAttrs(key, head), nil
	}
	return driver.Attrs{
		Key:         key,
		Size:        size,
		ETag:        driver.QuoteETag(aws.ToString(out.ETag)),
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
func sentBody(prog driver.Progress, size int64) func(*awss3.Options) {
	mw := middleware.FinalizeMiddlewareFunc("objstore.progress", func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
		if req, ok := in.Request.(*smithyhttp.Request); ok && req.GetStream() != nil {
			if r, err := req.SetStream(&parts.Sent{R: req.GetStream(), Limit: size, Prog: prog}); err == nil {
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
