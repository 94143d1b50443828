package gocloud

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"syscall"

	"gocloud.dev/gcerrors"

	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/driver"
)

// codeKinds maps gocloud's portable error codes to objstore's classes.
// FailedPrecondition is also what gocloud reports for a lost IfNotExist
// write; Put turns that into ErrExists.
var codeKinds = map[gcerrors.ErrorCode]error{
	gcerrors.NotFound:           objstore.ErrNotFound,
	gcerrors.AlreadyExists:      objstore.ErrExists,
	gcerrors.FailedPrecondition: objstore.ErrPrecondition,
	gcerrors.InvalidArgument:    objstore.ErrInvalidArgument,
	gcerrors.PermissionDenied:   objstore.ErrPermission,
	gcerrors.Unimplemented:      objstore.ErrUnsupported,
	gcerrors.ResourceExhausted:  objstore.ErrThrottled,
}

// bucketMissing reports whether a NotFound error is about the bucket
// rather than the object. gocloud gives both the code NotFound; the
// service's own error tells them apart. The S3 SDK's errors have an
// ErrorCode method; Azure's and GCS's are recognised by their codes in the
// message, which both services keep stable.
func bucketMissing(err error) bool {
	var coded interface{ ErrorCode() string }
	if errors.As(err, &coded) && coded.ErrorCode() == "NoSuchBucket" {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "ContainerNotFound") || strings.Contains(msg, "storage: bucket doesn't exist")
}

// bucketGone reports whether a NotFound error means the bucket is
// missing. When the error does not say (S3's HEAD answers a bare 404 for
// both), it asks gocloud with IsAccessible: one more request, on the
// not-found path only.
func (s *bridge) bucketGone(ctx context.Context, err error) bool {
	if bucketMissing(err) {
		return true
	}
	ok, aerr := s.b.IsAccessible(ctx)
	return aerr == nil && !ok
}

// fail classifies a gocloud error, keeping it (and through it the SDK's)
// reachable with errors.As. A done context is reported as such, whatever
// gocloud made of it. nil stays nil.
func (s *bridge) fail(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if cerr := ctx.Err(); cerr != nil {
		if !errors.Is(err, cerr) {
			err = fmt.Errorf("%w: %w", cerr, err)
		}
		return err
	}
	code := gcerrors.Code(err)
	kind := codeKinds[code]
	switch {
	case code == gcerrors.Canceled && errors.Is(err, context.Canceled),
		code == gcerrors.DeadlineExceeded && errors.Is(err, context.DeadlineExceeded):
		kind = nil
	case kind == objstore.ErrNotFound && s.bucketGone(ctx, err):
		kind = objstore.ErrBucketNotFound
	case kind == nil && badRequest(err):
		// The service refused the request as malformed, such as a key it
		// cannot hold (MinIO's "a//b"); gocloud calls that Unknown.
		kind = objstore.ErrInvalidArgument
	case kind == nil && errors.Is(err, syscall.ENOTDIR):
		// fileblob stats "a/b/c" where "a/b" is a file and passes on
		// ENOTDIR with code Unknown: no such object.
		kind = objstore.ErrNotFound
	}
	return &driver.Error{Kind: kind, Err: err}
}

// badRequest reports whether err carries an HTTP 400 response, as the S3
// SDK's errors do.
func badRequest(err error) bool {
	var re interface{ HTTPStatusCode() int }
	return errors.As(err, &re) && re.HTTPStatusCode() == http.StatusBadRequest
}

// unsupported is the error for an option gocloud cannot carry out
// atomically.
func unsupported(what string) error {
	return &driver.Error{Kind: driver.ErrUnsupported, Err: errors.New(what), Hint: unsupportedHint}
}

const unsupportedHint = "gocloud.dev/blob has no portable way to do this atomically; use objstore's own s3, azblob or mem driver, which do"
