package s3

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/objstore-go/objstore"
)

// codeKinds classifies S3 error codes. The code comes from the error body;
// a response without one (HEAD) has a code the SDK makes up from the
// status ("NotFound") and is classified by statusKinds, unless the server
// names the code in a header (MinIO's X-Minio-Error-Code).
var codeKinds = map[string]error{
	"NoSuchKey":    objstore.ErrNotFound,
	"NotFound":     objstore.ErrNotFound, // HeadObject's modeled 404
	"NoSuchBucket": objstore.ErrBucketNotFound,

	"AccessDenied":      objstore.ErrPermission,
	"AllAccessDisabled": objstore.ErrPermission,
	"AccountProblem":    objstore.ErrPermission,

	"InvalidAccessKeyId":    objstore.ErrUnauthenticated,
	"SignatureDoesNotMatch": objstore.ErrUnauthenticated,
	"ExpiredToken":          objstore.ErrUnauthenticated,
	"InvalidToken":          objstore.ErrUnauthenticated,
	"TokenRefreshRequired":  objstore.ErrUnauthenticated,
	"MissingSecurityHeader": objstore.ErrUnauthenticated,
	"XAdminUserNotFound":    objstore.ErrUnauthenticated, // versitygw's 404 for an unknown access key

	"SlowDown":                   objstore.ErrThrottled,
	"Throttling":                 objstore.ErrThrottled,
	"ThrottlingException":        objstore.ErrThrottled,
	"RequestLimitExceeded":       objstore.ErrThrottled,
	"TooManyRequests":            objstore.ErrThrottled,
	"ServiceUnavailable":         objstore.ErrThrottled,
	"XMinioServerNotInitialized": objstore.ErrThrottled,

	"PreconditionFailed":         objstore.ErrPrecondition,
	"ConditionalRequestConflict": objstore.ErrPrecondition, // 409: a racing conditional write won
	"NotModified":                objstore.ErrNotModified,
	"InvalidRange":               objstore.ErrInvalidRange,

	// The server refused the key or the metadata: nothing was written,
	// and sending it again will not help.
	"KeyTooLongError":         objstore.ErrInvalidArgument,
	"MetadataTooLarge":        objstore.ErrInvalidArgument,
	"XMinioInvalidObjectName": objstore.ErrInvalidArgument,
	"EntityTooLarge":          objstore.ErrInvalidArgument,
}

// statusKinds classifies by HTTP status what codeKinds does not know.
var statusKinds = map[int]error{
	http.StatusNotModified:                  objstore.ErrNotModified,
	http.StatusUnauthorized:                 objstore.ErrUnauthenticated,
	http.StatusForbidden:                    objstore.ErrPermission,
	http.StatusNotFound:                     objstore.ErrNotFound,
	http.StatusPreconditionFailed:           objstore.ErrPrecondition,
	http.StatusRequestedRangeNotSatisfiable: objstore.ErrInvalidRange,
	http.StatusTooManyRequests:              objstore.ErrThrottled,
	http.StatusServiceUnavailable:           objstore.ErrThrottled,
}

// codeHints say what to do about codes that have no class.
var codeHints = map[string]string{
	"PermanentRedirect":                  "the bucket is in another region; set region= in the URL",
	"AuthorizationHeaderMalformed":       "the bucket is in another region; set region= in the URL",
	"IllegalLocationConstraintException": "the bucket is in another region; set region= in the URL",
	"RequestTimeTooSkewed":               "this machine's clock is too far from the server's; correct the clock",
}

// cond is the condition an operation carried, which changes what a
// failure means.
type cond int

const (
	condNone     cond = iota
	condIfAbsent      // a precondition failure means the key exists
	condIfMatch       // a missing key means the ETag cannot match
)

// errorDetails returns the S3 error code, the HTTP status and MinIO's
// X-Minio-Error-Code header of err, each empty or zero when err does not
// carry it.
func errorDetails(err error) (code string, status int, headerCode string) {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code = ae.ErrorCode()
	}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
		if re.Response != nil && re.Response.Response != nil {
			headerCode = re.Response.Header.Get("X-Minio-Error-Code")
		}
	}
	return code, status, headerCode
}

// classify returns the contract class of err, an error from the SDK for an
// operation that carried condition c, or nil when it has none. Context
// errors have none: they stay reachable through the cause.
func classify(err error, c cond) error {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return nil
	}
	code, status, headerCode := errorDetails(err)
	kind, ok := codeKinds[headerCode]
	if !ok {
		kind, ok = codeKinds[code]
	}
	if !ok {
		kind = statusKinds[status]
	}
	var se *v4.SigningError
	if kind == nil && errors.As(err, &se) {
		// Signing fails when no credentials could be resolved.
		kind = objstore.ErrUnauthenticated
	}
	switch {
	case c == condIfAbsent && kind == objstore.ErrPrecondition:
		kind = objstore.ErrExists
	case c == condIfMatch && kind == objstore.ErrNotFound:
		kind = objstore.ErrPrecondition
	}
	return kind
}

// hintFor returns what the caller can do about err, or "" for the class's
// default hint.
func hintFor(err error, kind error) string {
	code, _, _ := errorDetails(err)
	if h := codeHints[code]; h != "" {
		return h
	}
	if kind == objstore.ErrUnauthenticated {
		return credentialHint
	}
	return ""
}

// fail wraps err, the SDK's error for op on the caller's key, in an
// *objstore.Error of its class. When ctx is done the context's error is
// made reachable too, whatever the SDK wrapped.
func (s *Store) fail(ctx context.Context, op, key string, err error, c cond) error {
	var oe *objstore.Error
	if errors.As(err, &oe) {
		// Classified below the SDK already (by the pipeline, or a body
		// that failed with a class): the SDK's wrapping adds nothing.
		return oe
	}
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		err = fmt.Errorf("%w: %w", cerr, err)
	}
	kind := classify(err, c)
	return &objstore.Error{Driver: Scheme, Op: op, Key: key, Kind: kind, Err: err, Hint: hintFor(err, kind)}
}
