package s3

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/internal/ctxio"
	"github.com/objstore-go/objstore/internal/parts"
	"github.com/objstore-go/objstore/internal/pipeline"
	engine "github.com/objstore-go/objstore/internal/upload"
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
// completed, a multipart upload is aborted. A request whose answer was
// lost may have been carried out all the same; Put then looks at the key
// before it reports a failure (rule P10 in docs/SEMANTICS.md): a write it
// finds stored is a success, and one it cannot tell from another writer's
// gets an error with no class that says it may have been stored. The returned ModTime is the Date of the server's
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
	plan, threshold := s.plan(&o)
	prog := objstore.NewProgress(o.Progress)
	defer prog.Stop()
	var a objstore.Attrs
	if ra, size, ok := objstore.ReaderAtBody(body); ok {
		a, err = s.putAt(ctx, key, full, ra, size, &o, plan, threshold, prog)
	} else {
		a, err = s.putStream(ctx, key, full, body, &o, plan, threshold, prog)
	}
	if err != nil {
		return objstore.Attrs{}, err
	}
	prog.Finish(a.Size)
	return a, nil
}

// putStream writes a body read in order: with one PutObject when it ends
// within threshold bytes, else as a multipart upload of part buffers.
func (s *Store) putStream(ctx context.Context, key, full string, body io.Reader, o *objstore.PutOptions, plan engine.Plan, threshold int64, prog *objstore.Progress) (objstore.Attrs, error) {
	plan.Size = sizeHint(body)
	up, err := engine.Start(ctx, body, plan, threshold)
	if err != nil {
		var tl *engine.TooLargeError
		kind := error(nil)
		if errors.As(err, &tl) {
			kind = objstore.ErrInvalidArgument
		}
		return objstore.Attrs{}, &objstore.Error{Driver: Scheme, Op: "put", Key: key, Kind: kind, Err: err}
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
func (s *Store) putAt(ctx context.Context, key, full string, r io.ReaderAt, size int64, o *objstore.PutOptions, plan engine.Plan, threshold int64, prog *objstore.Progress) (objstore.Attrs, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	body := parts.NewBody(r, cancel)
	prog.Start(size)
	if size <= threshold {
		a, err := s.putObject(ctx, key, full, io.NewSectionReader(body, 0, size), size, o, prog)
		if err != nil {
			return objstore.Attrs{}, body.Failed(Scheme, "put", key, err)
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
func (s *Store) putObject(ctx context.Context, key, full string, body io.ReadSeeker, size int64, o *objstore.PutOptions, prog *objstore.Progress) (objstore.Attrs, error) {
	ct := objstore.ContentTypeOrDefault(o.ContentType)
	md := objstore.NormalizeMetadata(o.Metadata)
	callOpts := s.callOpts
	if prog != nil && size > 0 {
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
			return objstore.Attrs{}, failed
		}
		head, err := s.settlePut(ctx, "put", key, full, body, size, ct, md, c, err, failed)
		if err != nil {
			return objstore.Attrs{}, err
		}
		return headAttrs(key, head), nil
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
