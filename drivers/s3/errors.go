package s3

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/driver"
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
	// MinIO refuses "." and ".." segments, which it cannot hold (rule
	// K3); to a HEAD it answers a bare 400, which the SDK names
	// BadRequest.
	"XMinioInvalidResourceName": objstore.ErrInvalidArgument,
	"BadRequest":                objstore.ErrInvalidArgument,

	// versitygw's posix backend keeps keys as files and directories, as
	// the file driver does: "a" and "a/b" cannot both be objects, and it
	// holds a "dir/" key only as an empty directory.
	"ObjectParentIsFile":          objstore.ErrInvalidArgument,
	"ExistingObjectIsDirectory":   objstore.ErrInvalidArgument,
	"DirectoryObjectContainsData": objstore.ErrInvalidArgument,
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
	"ObjectParentIsFile": "a prefix of this key followed by \"/\" is an object, and the server stores keys as files and directories; " +
		"delete that object first, or use keys of which none is a prefix of another followed by \"/\"",
	"ExistingObjectIsDirectory": "objects exist under this key followed by \"/\", and the server stores keys as files and directories; " +
		"delete the objects under it first, or use keys of which none is a prefix of another followed by \"/\"",
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
	if errors.As(err, &re) && re.Response != nil {
		status = re.HTTPStatusCode()
		if re.Response.Response != nil {
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
	return condKind(baseKind(err), c)
}

// baseKind is classify before the condition is taken into account.
func baseKind(err error) error {
	var ce *credentialsError
	var se *v4.SigningError
	if errors.As(err, &ce) || errors.As(err, &se) {
		// No credentials could be resolved, so nothing was sent. The
		// chain's own requests (IMDS answering 403, say) say nothing
		// about the operation's permissions.
		return objstore.ErrUnauthenticated
	}
	code, status, headerCode := errorDetails(err)
	if kind, ok := codeKinds[headerCode]; ok {
		return kind
	}
	if kind, ok := codeKinds[code]; ok {
		return kind
	}
	return statusKinds[status]
}

// condKind is what kind, the class of a failure, means for an operation
// that carried condition c.
func condKind(kind error, c cond) error {
	switch {
	case c == condIfAbsent && kind == objstore.ErrPrecondition:
		return objstore.ErrExists
	case c == condIfMatch && kind == objstore.ErrNotFound:
		return objstore.ErrPrecondition
	}
	return kind
}

// bareNotFound reports a 404 that does not say what is missing: the
// answer to a HEAD, which has no body, from a server that names no code
// in a header. The key and the bucket are equally likely.
func bareNotFound(err error) bool {
	code, status, headerCode := errorDetails(err)
	return status == http.StatusNotFound && headerCode == "" && code != "NoSuchKey" && code != "NoSuchBucket"
}

// hintFor returns what the caller can do about err, or "" for the class's
// default hint.
func (s *bucket) hintFor(err error, kind error) string {
	var ce *credentialsError
	if errors.As(err, &ce) && s.chainHint != "" {
		return s.chainHint
	}
	code, _, headerCode := errorDetails(err)
	if h := codeHints[headerCode]; h != "" {
		return h
	}
	if h := codeHints[code]; h != "" {
		return h
	}
	switch kind {
	case objstore.ErrUnauthenticated:
		return credentialHint
	case objstore.ErrBucketNotFound:
		return fmt.Sprintf("the bucket %q does not exist; check the bucket name in the URL, and that the bucket was created", s.bucket)
	}
	return ""
}

// fail wraps err, the SDK's error for op on the caller's key, in an
// *objstore.Error of its class, with a one-line message. When ctx is done
// the context's error is made reachable too, whatever the SDK wrapped. A
// 404 that does not say what is missing is settled with one request about
// the bucket (see settle404).
func (s *bucket) fail(ctx context.Context, op, key string, err error, c cond) error {
	var oe *objstore.Error
	if errors.As(err, &oe) {
		// Classified below the SDK already (by the pipeline, or a body
		// that failed with a class): the SDK's wrapping adds nothing.
		return oe
	}
	cause := compact(err)
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		cause = fmt.Errorf("%w: %w", cerr, cause)
	}
	if errors.Is(cause, context.Canceled) || errors.Is(cause, context.DeadlineExceeded) {
		return &driver.Error{Err: cause}
	}
	kind := baseKind(err)
	hintOf := err
	if kind == objstore.ErrNotFound && bareNotFound(err) {
		if bkind, berr := s.settle404(ctx); berr != nil {
			kind, hintOf = bkind, berr
			cause = &lineError{msg: cause.Error() + "; " + compact(berr).Error(), err: cause}
		}
	}
	kind = condKind(kind, c)
	return &driver.Error{Kind: kind, Err: cause, Hint: s.hintFor(hintOf, kind)}
}

// The store's knowledge of its bucket (Store.bucketState).
const (
	bucketUnknown int32 = iota
	bucketExists        // seen to exist: never asked again
	bucketMissing       // the bucket request answered 404 NoSuchBucket
)

// settle404 settles a 404 that does not say what is missing: a HEAD's
// (HeadObject, the first request of Stat and Copy) from a server that,
// like AWS and versitygw, answers a failed HEAD with the status alone. It
// asks about the bucket with a ListObjectsV2 of no keys, which needs the
// permission a HeadBucket needs (s3:ListBucket) but whose failure has a
// body that names it. It returns nil, nil when the key is what is
// missing; ErrBucketNotFound and the bucket request's error when the
// bucket is; or, when that error is of another class, that class and
// error: versitygw answers an unknown access key with 404
// XAdminUserNotFound, HEADs included, and the HEAD's bare 404 must then
// read as ErrUnauthenticated, not as a missing object or bucket.
//
// It sends at most one bucket request per store while the answer holds:
// concurrent callers wait for the one in flight, and the answer is
// remembered. A bucket seen to exist (a request that found it, or any
// operation that succeeded) is never asked about again; a missing bucket
// that is created later is seen to exist by the first operation that
// succeeds. Any other answer (403 included: the bucket exists but may not
// be listed) means it exists, except an error of the credentials, which
// is returned and not remembered (the credentials may change). A request
// that gets no answer (a network error, a cancelled ctx) settles nothing,
// and the next caller asks again. A caller whose ctx is done while it
// waits gets nil, nil.
func (s *bucket) settle404(ctx context.Context) (kind, err error) {
	if s.bucketState.Load() == bucketExists || ctx.Err() != nil {
		return nil, nil
	}
	select {
	case s.bucketAsk <- struct{}{}:
		defer func() { <-s.bucketAsk }()
	case <-ctx.Done():
		return nil, nil
	}
	switch s.bucketState.Load() {
	case bucketExists:
		return nil, nil
	case bucketMissing:
		return objstore.ErrBucketNotFound, s.bucketErr
	}
	// An operation of its own in the pipeline, so that the attempts the
	// caller's error reports stay those of the caller's request. Its
	// outcome is reported in the caller's error, not logged as a failure.
	bctx, end := s.pipe.Begin(ctx, "checkbucket", "")
	_, err = s.client.ListObjectsV2(bctx, &awss3.ListObjectsV2Input{Bucket: &s.bucket, MaxKeys: aws.Int32(0)}, s.callOpts...)
	end(nil)
	code, status, _ := errorDetails(err)
	switch {
	case err == nil:
		s.bucketState.CompareAndSwap(bucketUnknown, bucketExists)
		return nil, nil
	case status == http.StatusNotFound && (code == "NoSuchBucket" || code == "" || code == "NotFound"):
		s.bucketErr = err
		s.bucketState.CompareAndSwap(bucketUnknown, bucketMissing)
		return objstore.ErrBucketNotFound, err
	case status != 0 && baseKind(err) == objstore.ErrUnauthenticated:
		return objstore.ErrUnauthenticated, err
	case status != 0:
		s.bucketState.CompareAndSwap(bucketUnknown, bucketExists)
	}
	return nil, nil
}

// credentialsError is the failure of the credential chain: no request was
// sent, because no credentials could be had.
type credentialsError struct{ err error }

func (e *credentialsError) Error() string {
	msg := strings.TrimPrefix(e.err.Error(), "failed to refresh cached credentials, ")
	var oe *smithy.OperationError
	if errors.As(e.err, &oe) {
		// A request of the chain's own (IMDS, STS, SSO) failed.
		msg = strings.Replace(msg, oe.Error(), oe.ServiceID+" "+compact(oe).Error(), 1)
	}
	return "no credentials: " + msg
}

func (e *credentialsError) Unwrap() error { return e.err }

// credentialsProbe marks the failures of the credentials provider it wraps
// as credentialsError, so that classify can tell them from the service's
// answers: the SDK wraps both alike. It is the provider it wraps for the
// SDK's checks (aws.IsCredentialsProvider).
type credentialsProbe struct{ aws.CredentialsProvider }

func (p credentialsProbe) Retrieve(ctx context.Context) (aws.Credentials, error) {
	c, err := p.CredentialsProvider.Retrieve(ctx)
	if err != nil {
		return c, &credentialsError{err}
	}
	return c, nil
}

func (p credentialsProbe) IsCredentialsProvider(target aws.CredentialsProvider) bool {
	return aws.IsCredentialsProvider(p.CredentialsProvider, target)
}

func (p credentialsProbe) ProviderSources() []aws.CredentialSource {
	if ps, ok := p.CredentialsProvider.(aws.CredentialProviderSource); ok {
		return ps.ProviderSources()
	}
	return nil
}

// lineError gives an SDK error a one-line message: the S3 operation, then
// the HTTP status, the service's error code and message and its request
// ID, or what stopped the request before an answer. The SDK's own message
// nests wrappers, says "https" whatever the scheme, and ends empty for a
// HEAD. errors.As still reaches every error the SDK returned.
type lineError struct {
	msg string
	err error // what the SDK returned
}

func (e *lineError) Error() string { return e.msg }
func (e *lineError) Unwrap() error { return e.err }

// compact returns err with a one-line message when it is an S3
// operation's error, and err itself otherwise.
func compact(err error) error {
	var oe *smithy.OperationError
	if !errors.As(err, &oe) {
		return err
	}
	var b strings.Builder
	b.WriteString(oe.OperationName)
	b.WriteString(": ")
	var ce *credentialsError
	var re *smithyhttp.ResponseError
	var se *smithyhttp.RequestSendError
	switch {
	case errors.As(err, &ce):
		b.WriteString(ce.Error())
	case errors.As(err, &re) && re.Response != nil && re.Response.Response != nil && re.HTTPStatusCode() != 0:
		status := re.HTTPStatusCode()
		h := re.Response.Header
		code, message := h.Get("X-Minio-Error-Code"), h.Get("X-Minio-Error-Desc")
		if m, err := strconv.Unquote(message); err == nil {
			message = m // MinIO quotes it
		}
		var ae smithy.APIError
		if code == "" && errors.As(err, &ae) {
			code, message = ae.ErrorCode(), ae.ErrorMessage()
		}
		text := http.StatusText(status)
		if strings.ReplaceAll(text, " ", "") == code && (message == "" || message == text) {
			// A HEAD has no body: the SDK made the code up from the
			// status.
			code, message = "", ""
		}
		b.WriteString(strconv.Itoa(status))
		b.WriteByte(' ')
		if code == "" {
			b.WriteString(text)
		} else {
			b.WriteString(code)
		}
		if message = strings.TrimSpace(message); message != "" && message != code {
			b.WriteString(": ")
			b.WriteString(oneLine(message))
		}
		var rid interface{ ServiceRequestID() string }
		if errors.As(err, &rid) && rid.ServiceRequestID() != "" {
			b.WriteString(" (request ID ")
			b.WriteString(rid.ServiceRequestID())
			b.WriteByte(')')
		}
	case errors.As(err, &se):
		b.WriteString("request send failed: ")
		b.WriteString(oneLine(fmt.Sprint(se.Err)))
	default:
		// An error below the HTTP exchange: serialization, a body that
		// failed to read. The SDK's wrappers say nothing more.
		cause := oe.Err
		if re != nil && re.Err != nil {
			cause = re.Err
		}
		b.WriteString(oneLine(fmt.Sprint(cause)))
	}
	return &lineError{msg: b.String(), err: err}
}

// oneLine joins the lines of s with spaces.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
