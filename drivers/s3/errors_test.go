package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/driver"
)

// sdkError builds an error the way the SDK returns a failed S3 response:
// an OperationError around an aws ResponseError around the smithy
// ResponseError that carries the HTTP response, around the API error.
func sdkError(op string, status int, header http.Header, apiErr error) error {
	if header == nil {
		header = http.Header{}
	}
	return &smithy.OperationError{
		ServiceID:     "S3",
		OperationName: op,
		Err: &awshttp.ResponseError{
			RequestID: "REQ",
			ResponseError: &smithyhttp.ResponseError{
				Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status, Header: header}},
				Err:      apiErr,
			},
		},
	}
}

// noCredentials builds the error the SDK returns when the credential
// chain ends at an IMDS that answers status, as it does through the
// credentials provider the driver wraps.
func noCredentials(status int) error {
	imds := &smithy.OperationError{ServiceID: "ec2imds", OperationName: "GetMetadata",
		Err: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status, Header: http.Header{}}},
			Err:      errors.New("request to EC2 IMDS failed"),
		}}
	chain := &credentialsError{fmt.Errorf("failed to refresh cached credentials, no EC2 IMDS role found, %w", imds)}
	return &smithy.OperationError{ServiceID: "S3", OperationName: "HeadObject",
		Err: fmt.Errorf("get identity: %w", fmt.Errorf("get credentials: %w", chain))}
}

func generic(code string) error {
	return &smithy.GenericAPIError{Code: code, Message: "message for " + code}
}

func TestClassify(t *testing.T) {
	minio := func(code string) http.Header { return http.Header{"X-Minio-Error-Code": {code}} }
	tests := []struct {
		name string
		err  error
		c    cond
		want error // nil: no class
	}{
		{"NoSuchKey", sdkError("GetObject", 404, nil, &types.NoSuchKey{Message: aws.String("no")}), condNone, objstore.ErrNotFound},
		{"HEAD 404", sdkError("HeadObject", 404, nil, &types.NotFound{}), condNone, objstore.ErrNotFound},
		{"HEAD 404, MinIO says NoSuchBucket", sdkError("HeadObject", 404, minio("NoSuchBucket"), &types.NotFound{}), condNone, objstore.ErrBucketNotFound},
		{"NoSuchBucket", sdkError("ListObjectsV2", 404, nil, &types.NoSuchBucket{}), condNone, objstore.ErrBucketNotFound},
		{"NoSuchBucket generic", sdkError("PutObject", 404, nil, generic("NoSuchBucket")), condNone, objstore.ErrBucketNotFound},
		{"AccessDenied", sdkError("GetObject", 403, nil, generic("AccessDenied")), condNone, objstore.ErrPermission},
		{"HEAD 403", sdkError("HeadObject", 403, nil, generic("Forbidden")), condNone, objstore.ErrPermission},
		{"HEAD 403, MinIO says SignatureDoesNotMatch", sdkError("HeadObject", 403, minio("SignatureDoesNotMatch"), generic("Forbidden")), condNone, objstore.ErrUnauthenticated},
		{"InvalidAccessKeyId", sdkError("PutObject", 403, nil, generic("InvalidAccessKeyId")), condNone, objstore.ErrUnauthenticated},
		{"versitygw's XAdminUserNotFound", sdkError("GetObject", 404, nil, generic("XAdminUserNotFound")), condNone, objstore.ErrUnauthenticated},
		{"versitygw's XAdminUserNotFound, IfMatch", sdkError("PutObject", 404, nil, generic("XAdminUserNotFound")), condIfMatch, objstore.ErrUnauthenticated},
		{"SignatureDoesNotMatch", sdkError("PutObject", 403, nil, generic("SignatureDoesNotMatch")), condNone, objstore.ErrUnauthenticated},
		{"ExpiredToken", sdkError("PutObject", 400, nil, generic("ExpiredToken")), condNone, objstore.ErrUnauthenticated},
		{"401", sdkError("GetObject", 401, nil, generic("Unauthorized")), condNone, objstore.ErrUnauthenticated},
		{"SlowDown", sdkError("PutObject", 503, nil, generic("SlowDown")), condNone, objstore.ErrThrottled},
		{"503 of any code", sdkError("PutObject", 503, nil, generic("Busy")), condNone, objstore.ErrThrottled},
		{"429", sdkError("PutObject", 429, nil, generic("TooManyRequests")), condNone, objstore.ErrThrottled},
		{"SlowDown after retries", &retry.MaxAttemptsError{Attempt: 3, Err: sdkError("PutObject", 503, nil, generic("SlowDown"))}, condNone, objstore.ErrThrottled},
		{"SlowDown, retry quota spent", errors.Join(sdkError("PutObject", 503, nil, generic("SlowDown")), errors.New("retry quota exceeded")), condNone, objstore.ErrThrottled},
		{"PreconditionFailed", sdkError("GetObject", 412, nil, generic("PreconditionFailed")), condNone, objstore.ErrPrecondition},
		{"HEAD 412", sdkError("HeadObject", 412, nil, generic("Precondition Failed")), condNone, objstore.ErrPrecondition},
		{"PreconditionFailed, IfMatch", sdkError("PutObject", 412, nil, generic("PreconditionFailed")), condIfMatch, objstore.ErrPrecondition},
		{"PreconditionFailed, IfAbsent", sdkError("PutObject", 412, nil, generic("PreconditionFailed")), condIfAbsent, objstore.ErrExists},
		{"ConditionalRequestConflict, IfAbsent", sdkError("CompleteMultipartUpload", 409, nil, generic("ConditionalRequestConflict")), condIfAbsent, objstore.ErrExists},
		{"ConditionalRequestConflict, IfMatch", sdkError("PutObject", 409, nil, generic("ConditionalRequestConflict")), condIfMatch, objstore.ErrPrecondition},
		{"NoSuchKey, IfMatch", sdkError("PutObject", 404, nil, &types.NoSuchKey{}), condIfMatch, objstore.ErrPrecondition},
		{"NoSuchBucket, IfMatch", sdkError("PutObject", 404, nil, &types.NoSuchBucket{}), condIfMatch, objstore.ErrBucketNotFound},
		{"NoSuchBucket, IfAbsent", sdkError("PutObject", 404, nil, &types.NoSuchBucket{}), condIfAbsent, objstore.ErrBucketNotFound},
		{"NotModified", sdkError("GetObject", 304, nil, generic("NotModified")), condNone, objstore.ErrNotModified},
		{"HEAD 304", sdkError("HeadObject", 304, nil, generic("Not Modified")), condNone, objstore.ErrNotModified},
		{"InvalidRange", sdkError("GetObject", 416, nil, generic("InvalidRange")), condNone, objstore.ErrInvalidRange},
		{"MetadataTooLarge", sdkError("PutObject", 400, nil, generic("MetadataTooLarge")), condNone, objstore.ErrInvalidArgument},
		{"XMinioInvalidObjectName", sdkError("PutObject", 400, nil, generic("XMinioInvalidObjectName")), condNone, objstore.ErrInvalidArgument},
		{"InternalError", sdkError("PutObject", 500, nil, generic("InternalError")), condNone, nil},
		{"PermanentRedirect", sdkError("GetObject", 301, nil, generic("PermanentRedirect")), condNone, nil},
		{"no credentials", &smithy.OperationError{ServiceID: "S3", OperationName: "GetObject",
			Err: &v4.SigningError{Err: errors.New("failed to retrieve credentials: no EC2 IMDS role found")}}, condNone, objstore.ErrUnauthenticated},
		{"no credentials, IMDS answered 403", noCredentials(403), condNone, objstore.ErrUnauthenticated},
		{"no credentials, IMDS answered 404", noCredentials(404), condNone, objstore.ErrUnauthenticated},
		{"ObjectParentIsFile", sdkError("PutObject", 409, nil, generic("ObjectParentIsFile")), condNone, objstore.ErrInvalidArgument},
		{"ExistingObjectIsDirectory", sdkError("PutObject", 409, nil, generic("ExistingObjectIsDirectory")), condNone, objstore.ErrInvalidArgument},
		{"cancelled", &smithy.OperationError{ServiceID: "S3", OperationName: "GetObject",
			Err: &smithy.CanceledError{Err: context.Canceled}}, condNone, nil},
		{"deadline", &smithy.OperationError{ServiceID: "S3", OperationName: "GetObject",
			Err: fmt.Errorf("request send failed: %w", context.DeadlineExceeded)}, condNone, nil},
		{"cancelled while throttled", errors.Join(context.Canceled, sdkError("PutObject", 503, nil, generic("SlowDown"))), condNone, nil},
		{"connection refused", &smithy.OperationError{ServiceID: "S3", OperationName: "GetObject",
			Err: errors.New("dial tcp 127.0.0.1:1: connect: connection refused")}, condNone, nil},
	}
	all := []error{objstore.ErrNotFound, objstore.ErrBucketNotFound, objstore.ErrExists, objstore.ErrPrecondition,
		objstore.ErrNotModified, objstore.ErrInvalidArgument, objstore.ErrInvalidRange, objstore.ErrPermission,
		objstore.ErrUnauthenticated, objstore.ErrUnsupported, objstore.ErrThrottled}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := classify(tt.err, tt.c); got != tt.want {
				t.Fatalf("classify = %v, want %v", got, tt.want)
			}
			s := &Store{b: &bucket{}}
			s.b.bucketState.Store(bucketExists) // no HeadBucket: there is no client
			err := asReported(t, "get", "the/key", s.b.fail(context.Background(), "get", "the/key", tt.err, tt.c))
			var oe *objstore.Error
			if !errors.As(err, &oe) || oe.Driver != "s3" || oe.Op != "get" || oe.Key != "the/key" {
				t.Fatalf("fail returned %#v", err)
			}
			for _, class := range all {
				if errors.Is(err, class) != (class == tt.want) {
					t.Errorf("errors.Is(%v, %v) = %v", err, class, !(class == tt.want))
				}
			}
			// The SDK's error stays reachable.
			var ae smithy.APIError
			if errors.As(tt.err, &ae) && !errors.As(err, &ae) {
				t.Errorf("errors.As(err, smithy.APIError) is false through %v", err)
			}
		})
	}
}

// TestFailContext checks a failure while the caller's context is done
// says so, whatever the SDK made of it.
func TestFailContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s := &Store{b: &bucket{}}
	sdkErr := sdkError("GetObject", 503, nil, generic("SlowDown"))
	err := s.b.fail(ctx, "get", "k", sdkErr, condNone)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("%v is not context.Canceled", err)
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Errorf("%v does not reach the SDK's error", err)
	}
	if errors.Is(err, objstore.ErrThrottled) {
		t.Errorf("%v is ErrThrottled; a cancelled call has no class", err)
	}
}

// TestErrorClassesLive hits the classes each S3 server can produce.
func TestErrorClassesLive(t *testing.T) { eachServer(t, testErrorClassesLive) }

func testErrorClassesLive(t *testing.T) {
	s, _ := openTest(t, nil)
	ctx := t.Context()
	if _, err := s.Put(ctx, "k", strings.NewReader("x"), nil); err != nil {
		t.Fatal(err)
	}
	u := testURL(t)

	// open opens u's bucket, or another, with the environment changed.
	open := func(t *testing.T, bucket string, env map[string]string, params string) *Store {
		for k, v := range env {
			t.Setenv(k, v)
		}
		v := *u
		if bucket != "" {
			v.Host = bucket
		}
		v.Path = "/" + s.b.prefix
		if params != "" {
			v.RawQuery += "&" + params
		}
		st, err := OpenURL(t.Context(), &v, nil)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	// calls are every operation, on key k which exists.
	calls := map[string]func(st *Store) error{
		"Stat":   func(st *Store) error { _, err := st.Stat(ctx, "k"); return err },
		"Get":    func(st *Store) error { _, err := st.Get(ctx, "k", nil); return err },
		"Put":    func(st *Store) error { _, err := st.Put(ctx, "k2", strings.NewReader("x"), nil); return err },
		"Delete": func(st *Store) error { return st.Delete(ctx, "k2") },
		"Copy":   func(st *Store) error { _, err := st.Copy(ctx, "k3", "k", nil); return err },
		"List": func(st *Store) error {
			for _, err := range st.List(ctx, nil) {
				if err != nil {
					return err
				}
			}
			return nil
		},
	}
	// Stat and Copy start with a HeadObject, whose failure has no body.
	// versitygw, like AWS, answers it with the status alone, where MinIO
	// names the code in a header: see docs/SEMANTICS.md, Backend notes.
	srv, _ := serverOf(t.Name())
	bareHead := srv.Name == "versitygw"
	headCalls := map[string]bool{"Stat": true, "Copy": true}
	const wrongSecret = "wrong-secret-CANARY-1234"
	tests := []struct {
		name   string
		bucket string
		env    map[string]string
		params string
		want   error
		// headWant is what Stat and Copy give on a server with bare HEAD
		// failures; nil means any error, the status telling nothing.
		headWant error
	}{
		{"wrong secret", "", map[string]string{"AWS_SECRET_ACCESS_KEY": wrongSecret}, "", objstore.ErrUnauthenticated, objstore.ErrPermission},
		{"unknown access key", "", map[string]string{"AWS_ACCESS_KEY_ID": "objstore-no-such-user"}, "", objstore.ErrUnauthenticated, objstore.ErrUnauthenticated},
		{"anonymous on a private bucket", "", nil, "anonymous=true", objstore.ErrPermission, objstore.ErrPermission},
		{"missing bucket", "objstore-missing-" + randomHex(6), nil, "", objstore.ErrBucketNotFound, objstore.ErrBucketNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := open(t, tt.bucket, tt.env, tt.params)
			for name, call := range calls {
				err := call(st)
				want := tt.want
				if bareHead && headCalls[name] {
					want = tt.headWant
				}
				if err == nil || want != nil && !errors.Is(err, want) {
					t.Errorf("%s: %v; want %v", name, err, want)
					continue
				}
				if strings.Contains(err.Error(), wrongSecret) {
					t.Errorf("%s: the error repeats the secret: %v", name, err)
				}
				var ae smithy.APIError
				if !errors.As(err, &ae) {
					t.Errorf("%s: %v does not reach the SDK's error", name, err)
				}
			}
		})
	}
	// Nothing was written by the failing stores.
	for _, k := range []string{"k2", "k3"} {
		if _, err := s.Stat(ctx, k); !errors.Is(err, objstore.ErrNotFound) {
			t.Errorf("Stat(%q): %v; want ErrNotFound", k, err)
		}
	}
}

// TestErrorLines checks the message of each kind of SDK error: one line
// with the operation, the key, the class, the status, the service's code
// and message and the request ID, and none of the SDK's nesting; the SDK's
// errors stay reachable.
func TestErrorLines(t *testing.T) {
	minio := http.Header{"X-Minio-Error-Code": {"NoSuchBucket"}, "X-Minio-Error-Desc": {`"The specified bucket does not exist"`}}
	refused := &smithy.OperationError{ServiceID: "S3", OperationName: "HeadObject",
		Err: &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: &http.Response{}},
			Err:      &smithyhttp.RequestSendError{Err: errors.New("dial tcp 127.0.0.1:1: connect: connection refused")},
		}}}
	tests := []struct {
		name, op string
		err      error
		want     string
	}{
		{"HEAD 404", "stat", sdkError("HeadObject", 404, nil, &types.NotFound{}),
			`s3 stat "k": object not found: HeadObject: 404 Not Found (request ID REQ)`},
		{"HEAD 403", "stat", sdkError("HeadObject", 403, nil, &smithy.GenericAPIError{Code: "Forbidden", Message: "Forbidden"}),
			`s3 stat "k": permission denied: HeadObject: 403 Forbidden (request ID REQ) (the credentials were accepted but lack permission for this operation)`},
		{"HEAD 404, MinIO's header", "stat", sdkError("HeadObject", 404, minio, &types.NotFound{}),
			`s3 stat "k": bucket not found: HeadObject: 404 NoSuchBucket: The specified bucket does not exist (request ID REQ) (the bucket "b" does not exist; check the bucket name in the URL, and that the bucket was created)`},
		{"NoSuchKey", "get", sdkError("GetObject", 404, nil, &types.NoSuchKey{Message: aws.String("The specified key does not exist.")}),
			`s3 get "k": object not found: GetObject: 404 NoSuchKey: The specified key does not exist. (request ID REQ)`},
		{"a message of two lines", "put", sdkError("PutObject", 500, nil, &smithy.GenericAPIError{Code: "InternalError", Message: "We encountered\n an internal error."}),
			`s3 put "k": PutObject: 500 InternalError: We encountered an internal error. (request ID REQ)`},
		{"versitygw's ObjectParentIsFile", "put", sdkError("PutObject", 409, nil, &smithy.GenericAPIError{Code: "ObjectParentIsFile", Message: "Object parent already exists as a file."}),
			`s3 put "k": invalid argument: PutObject: 409 ObjectParentIsFile: Object parent already exists as a file. (request ID REQ) (a prefix of this key followed by "/" is an object, and the server stores keys as files and directories; delete that object first, or use keys of which none is a prefix of another followed by "/")`},
		{"connection refused", "stat", refused,
			`s3 stat "k": HeadObject: request send failed: dial tcp 127.0.0.1:1: connect: connection refused`},
		{"no credentials", "stat", noCredentials(403),
			`s3 stat "k": unauthenticated: HeadObject: no credentials: no EC2 IMDS role found, ec2imds GetMetadata: 403 Forbidden (CHAIN)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Store{b: &bucket{bucket: "b", chainHint: "CHAIN"}}
			s.b.bucketState.Store(bucketExists)
			err := asReported(t, tt.op, "k", s.b.fail(context.Background(), tt.op, "k", tt.err, condNone))
			if got := err.Error(); got != tt.want {
				t.Errorf("message\n got %s\nwant %s", got, tt.want)
			}
			var oe *smithy.OperationError
			if !errors.As(err, &oe) {
				t.Errorf("errors.As does not reach the *smithy.OperationError through %v", err)
			}
			var re *smithyhttp.ResponseError
			if errors.As(tt.err, &re) && !errors.As(err, &re) {
				t.Errorf("errors.As does not reach the *smithyhttp.ResponseError through %v", err)
			}
			var are *awshttp.ResponseError
			if errors.As(tt.err, &are) && !errors.As(err, &are) {
				t.Errorf("errors.As does not reach the *awshttp.ResponseError through %v", err)
			}
			var ae smithy.APIError
			if errors.As(tt.err, &ae) && !errors.As(err, &ae) {
				t.Errorf("errors.As does not reach the smithy.APIError through %v", err)
			}
		})
	}
}

// TestErrorLinesLive checks the messages of real servers' errors: one
// line naming the operation, the key, the class, the status, the code and
// message the server gave, and its request ID, which is the one the SDK's
// error carries; none of the SDK's own wording.
func TestErrorLinesLive(t *testing.T) {
	forEachServer(t, func(t *testing.T, server string, u *url.URL) {
		s, _ := openServer(t, u, "", nil)
		ctx := t.Context()
		_, statErr := s.Stat(ctx, "missing")
		_, getErr := s.Get(ctx, "missing", nil)
		tests := []struct {
			name string
			err  error
			want *regexp.Regexp
		}{
			// MinIO names the code of a HEAD's error in a header; others
			// send only the status.
			{"Stat", statErr, regexp.MustCompile(`^s3 stat "missing": object not found: HeadObject: 404 (Not Found|NoSuchKey: [^()"]+) \(request ID ([^ ()]+)\)$`)},
			{"Get", getErr, regexp.MustCompile(`^s3 get "missing": object not found: GetObject: 404 NoSuchKey: [^()]+ \(request ID ([^ ()]+)\)$`)},
		}
		for _, tt := range tests {
			msg := fmt.Sprint(tt.err)
			m := tt.want.FindStringSubmatch(msg)
			if m == nil {
				t.Errorf("%s: message\n%s\ndoes not match\n%s", tt.name, msg, tt.want)
				continue
			}
			var re *awshttp.ResponseError
			if !errors.As(tt.err, &re) || re.ServiceRequestID() != m[len(m)-1] {
				t.Errorf("%s: errors.As does not reach the *awshttp.ResponseError with the request ID %s: %v", tt.name, m[len(m)-1], tt.err)
			}
			var ae smithy.APIError
			if !errors.As(tt.err, &ae) {
				t.Errorf("%s: errors.As does not reach the smithy.APIError: %v", tt.name, tt.err)
			}
		}
	})
}

// failing is a driver.Bucket whose calls fail with err: the way to see an
// error of the driver's as the portable store reports it.
type failing struct {
	driver.Bucket
	err error
}

func (f failing) Info() driver.Info { return driver.Info{Scheme: Scheme} }
func (f failing) Stat(context.Context, string) (driver.Attrs, error) {
	return driver.Attrs{}, f.err
}
func (f failing) Get(context.Context, string, driver.GetRequest) (driver.Object, error) {
	return driver.Object{}, f.err
}
func (f failing) Put(context.Context, string, io.Reader, driver.PutRequest) (driver.Attrs, error) {
	return driver.Attrs{}, f.err
}

// asReported returns err, a driver error of op on key, as a Store's op
// returns it to the caller.
func asReported(t *testing.T, op, key string, err error) error {
	t.Helper()
	st, nerr := objstore.NewStore(failing{err: err}, "")
	if nerr != nil {
		t.Fatal(nerr)
	}
	switch op {
	case "stat":
		_, err = st.Stat(t.Context(), key)
	case "get":
		_, err = st.Get(t.Context(), key, nil)
	case "put":
		_, err = st.Put(t.Context(), key, strings.NewReader("x"), nil)
	default:
		t.Fatalf("asReported: no case for op %q", op)
	}
	return err
}
