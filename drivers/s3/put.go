package s3

import (
	"bytes"
	"context"
	"errors"
	"io"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/driver"
	"github.com/objstore-go/objstore/internal/ctxio"
	"github.com/objstore-go/objstore/internal/parts"
	"github.com/objstore-go/objstore/internal/pipeline"
	engine "github.com/objstore-go/objstore/internal/upload"
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
	plan, threshold := s.plan(&o)
	if ra, size, ok := driver.ReaderAtBody(body); ok {
		return s.putAt(ctx, key, key, ra, size, &o, plan, threshold, r.Progress)
	}
	return s.putStream(ctx, key, key, body, &o, plan, threshold, r.Progress)
}

// putStream writes a body read in order: with one PutObject when it ends
// within threshold bytes, else as a multipart upload of part buffers.
func (s *bucket) putStream(ctx context.Context, key, full string, body io.Reader, o *objstore.PutOptions, plan engine.Plan, threshold int64, prog driver.Progress) (driver.Attrs, error) {
	plan.Size = sizeHint(body)
	up, err := engine.Start(ctx, body, plan, threshold)
	if err != nil {
		var tl *engine.TooLargeError
		kind := error(nil)
		if errors.As(err, &tl) {
			kind = objstore.ErrInvalidArgument
		}
		return driver.Attrs{}, &driver.Error{Kind: kind, Err: err}
	}
	defer up.Close()
	if b := up.Bytes(); b != nil {
		size := int64(len(b))
		prog.Start(size)
		return s.putObject(ctx, key, full, bytes.NewReader(b), size, o, prog)
	}
	prog.Start(plan.Size)
	return s.putMultipart(ctx, key, full, o, func(t *putTarget) (int64, error) {
		return up.Run(t, prog.Add)
	})
}

// putAt writes the size bytes of body, read with ReadAt: with one
// PutObject up to the threshold, else as a multipart upload of sections.
func (s *bucket) putAt(ctx context.Context, key, full string, r io.ReaderAt, size int64, o *objstore.PutOptions, plan engine.Plan, threshold int64, prog driver.Progress) (driver.Attrs, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	body := parts.NewBody(r, cancel)
	prog.Start(size)
	if size <= threshold {
		a, err := s.putObject(ctx, key, full, io.NewSectionReader(body, 0, size), size, o, prog)
		if err != nil {
			return driver.Attrs{}, body.Failed(Scheme, "put", key, err)
		}
		return a, nil
	}
	return s.putMultipart(ctx, key, full, o, func(t *putTarget) (int64, error) {
		return size, engine.Sections(ctx, t, body, size, plan, prog.Add)
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
