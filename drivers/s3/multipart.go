package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/driver"
	engine "github.com/objstore-go/objstore/internal/upload"
)

// limits are S3's bounds on a multipart upload, for the upload engine: a
// body of unknown size reaches 5 TiB, the largest object.
func limits() engine.Limits {
	return engine.Limits{MinPartSize: minPartSize, MaxPartSize: maxPartSize, MaxParts: maxParts, StreamMax: maxObjectSize}
}

// plan returns the upload plan of a put with options o, and the largest
// body sent with one PutObject.
func (s *bucket) plan(o *objstore.PutOptions) (engine.Plan, int64) {
	p := o.PartSize
	if p == 0 {
		p = s.opts.PartSize
	}
	p = min(max(p, minPartSize), maxPartSize)
	c := o.Concurrency
	if c == 0 {
		c = s.opts.Concurrency
	}
	t := s.opts.MultipartThreshold
	if t == 0 {
		t = p
	}
	// Each upload allocates its part buffers, as before the engine: with
	// the engine's shared pool, BenchmarkLargePut ran about 10% slower
	// (docs/benchmarks.md).
	return engine.Plan{Limits: limits(), PartSize: p, Concurrency: c, Size: -1}, t
}

// putMultipart writes a body as a multipart upload that send runs with
// the upload engine (which aborts it on any failure), and returns what it
// made. send returns the size of the body.
func (s *bucket) putMultipart(ctx context.Context, key, full string, o *objstore.PutOptions,
	send func(t *putTarget) (int64, error)) (driver.Attrs, error) {
	t := &putTarget{ctx: ctx, o: o, upload: &upload{s: s, op: "put", key: key, full: full,
		contentType: driver.ContentTypeOrDefault(o.ContentType), metadata: driver.NormalizeMetadata(o.Metadata)}}
	size, err := send(t)
	if err != nil {
		return driver.Attrs{}, err
	}
	return driver.Attrs{
		Key:         key,
		Size:        size,
		ETag:        driver.QuoteETag(t.etag),
		ModTime:     t.mod,
		ContentType: t.contentType,
		Metadata:    t.metadata,
	}, nil
}

// putTarget is a Put's multipart upload, as the upload engine drives it.
type putTarget struct {
	*upload
	ctx context.Context // the Put's
	o   *objstore.PutOptions
	// What the commit made.
	etag string
	mod  time.Time
}

// Begin checks a conditional put's condition early (see precheck), and
// creates the upload.
func (t *putTarget) Begin(ctx context.Context) error {
	s := t.s
	if err := s.precheck(ctx, t.key, t.full, t.o); err != nil {
		return err
	}
	created, err := s.client.CreateMultipartUpload(ctx, &awss3.CreateMultipartUploadInput{
		Bucket:      &s.bucket,
		Key:         &t.full,
		ContentType: &t.contentType,
		Metadata:    t.metadata,
	}, s.callOpts...)
	if err != nil {
		return s.fail(t.ctx, t.op, t.key, err, condNone)
	}
	t.id = aws.ToString(created.UploadId)
	return nil
}

// Part uploads part n and returns its ETag.
func (t *putTarget) Part(ctx context.Context, n int, body io.ReadSeeker, size int64) (string, error) {
	out, err := t.s.client.UploadPart(ctx, &awss3.UploadPartInput{
		Bucket:        &t.s.bucket,
		Key:           &t.full,
		UploadId:      &t.id,
		PartNumber:    aws.Int32(int32(n)),
		Body:          body,
		ContentLength: aws.Int64(size),
	}, t.s.callOpts...)
	if err != nil {
		return "", err
	}
	return aws.ToString(out.ETag), nil
}

// Commit completes the upload with the put's condition (see commit).
func (t *putTarget) Commit(ctx context.Context, parts []engine.Part) error {
	completed := make([]types.CompletedPart, len(parts))
	for i, p := range parts {
		completed[i] = types.CompletedPart{PartNumber: aws.Int32(int32(p.N))}
		if p.ID != "" {
			completed[i].ETag = aws.String(p.ID)
		}
	}
	etag, mod, err := t.commit(ctx, completed, t.o.IfAbsent, t.o.IfMatch)
	t.etag, t.mod = etag, mod
	return err
}

// Failed returns the Put's error for cause.
func (t *putTarget) Failed(cause error) error {
	var tl *engine.TooLargeError
	var be *engine.BodyError
	switch {
	case errors.As(cause, &tl):
		return &driver.Error{Kind: objstore.ErrInvalidArgument,
			Err: fmt.Errorf("%w; S3 objects are at most 5 TiB; nothing was stored", tl)}
	case errors.As(cause, &be):
		return &driver.Error{Err: be.Err}
	}
	return t.s.fail(t.ctx, t.op, t.key, cause, condNone)
}

// precheck fails a conditional multipart put early, with one HeadObject,
// when its condition already does not hold. It decides nothing: the
// condition goes on CompleteMultipartUpload too.
func (s *bucket) precheck(ctx context.Context, key, full string, o *objstore.PutOptions) error {
	if !o.IfAbsent && o.IfMatch == "" {
		return nil
	}
	_, err := s.client.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: &s.bucket, Key: &full, IfMatch: stringOrNil(o.IfMatch)}, s.callOpts...)
	switch {
	case err == nil && o.IfAbsent:
		return &driver.Error{Kind: objstore.ErrExists, Err: errExists}
	case err == nil:
		return nil
	}
	err = s.fail(ctx, "put", key, err, putCond(o))
	if o.IfAbsent && errors.Is(err, objstore.ErrNotFound) {
		return nil
	}
	return err
}

var errExists = errors.New("the key exists and IfAbsent was set")

// upload is one multipart upload in progress.
type upload struct {
	s    *bucket
	op   string // "put" or "copy"
	key  string // the caller's key, for errors
	full string
	id   string
	// The object's ContentType and normalized Metadata, which tell it
	// from another writer's (see settle).
	contentType string
	metadata    map[string]string
}

// abort aborts the upload after cause, the error it returns, as the
// upload engine does (engine.Abort): on a context of its own, and with
// the abort's failure joined to cause. The upload's parts then stay
// stored until a lifecycle rule removes them.
func (u *upload) abort(ctx context.Context, cause error) error {
	return engine.Abort(ctx, u.Abort, cause)
}

// Abort sends the AbortMultipartUpload. It is an operation of its own in
// the pipeline, so that the attempts the failed operation reports are
// those of the request that failed, not the abort's.
func (u *upload) Abort(ctx context.Context) error {
	ctx, end := u.s.pipe.Begin(ctx, "abort", u.key)
	_, err := u.s.client.AbortMultipartUpload(ctx, &awss3.AbortMultipartUploadInput{
		Bucket:   &u.s.bucket,
		Key:      &u.full,
		UploadId: &u.id,
	}, u.s.callOpts...)
	end(err)
	if err != nil {
		return fmt.Errorf("aborting multipart upload %s also failed: %w", u.id, err)
	}
	return nil
}
