// Package s3 is the objstore driver for Amazon S3 and S3-compatible servers
// (MinIO, Ceph, R2 and others), built on aws-sdk-go-v2. It registers the
// scheme s3:
//
//	s3://bucket[/prefix]?region=…&endpoint=…&use_path_style=…&profile=…&anonymous=…
//
// See [OpenURL] for the parameters and the credentials the driver finds, and
// [New] for apps that already hold an SDK client.
//
// Every write of the contract is done the way S3 makes it atomic: a body up
// to [Options.MultipartThreshold] goes in one PutObject; a larger one, or one
// of unknown size that turns out larger, goes in a multipart upload whose
// memory is bounded by Concurrency × PartSize, and which is aborted on any
// failure so that nothing partial is ever stored. A body with ReadAt and
// Size (an *io.SectionReader, what objstore.UploadFile passes) is sent as
// sections read in parallel, with no part buffers at all. Conditional writes use
// If-None-Match and If-Match on PutObject and CompleteMultipartUpload. Copies
// never move object bytes through the client: CopyObject, or UploadPartCopy
// parts for large sources and for IfAbsent.
//
// # Servers
//
// The driver is tested against MinIO. What MinIO does differently, and
// what the driver does about it:
//
//   - CopyObject ignores If-None-Match. An IfAbsent copy is therefore
//     always a multipart copy completed with If-None-Match: *, which MinIO
//     honours, as it honours If-None-Match and If-Match on PutObject.
//   - A flat listing stops at the first page that is not full with an
//     extra, empty page. List takes it in its stride.
//   - An object hides the keys below it in listings: with "a" stored, "a/b"
//     can be written and read but is not listed, whichever was written
//     first. The driver cannot list what the server does not return.
//   - A key segment (between slashes) may be 255 characters at most, and
//     user metadata is limited to 2048 bytes counting each key's
//     "x-amz-meta-" prefix. The shared validator refuses more before any
//     request; MinIO's own 400 for it is ErrInvalidArgument too.
//   - A HEAD in a missing bucket names NoSuchBucket in X-Minio-Error-Code,
//     so Stat and Copy tell a missing bucket from a missing key. AWS and
//     versitygw answer such a HEAD with a bare 404, which the driver
//     settles with one ListObjectsV2 of no keys per store, whose error
//     names its code (see [Store.Stat]).
//
// Errors read as one line: the operation, the key, the class, the S3
// operation with the HTTP status, the service's error code and message and
// its request ID. errors.As reaches the SDK's errors underneath
// (smithy.APIError, *awshttp.ResponseError, *smithy.OperationError).
// When the credential chain finds no credentials, nothing is sent and the
// error is ErrUnauthenticated, with a hint that says where the chain
// looked.
package s3

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/driver"
	"github.com/objstore-go/objstore/internal/pipeline"
)

// S3's limits, and the driver's defaults.
const (
	minPartSize   = 5 << 20   // the smallest part but the last
	maxPartSize   = 5 << 30   // the largest part, and the largest CopyObject source
	maxObjectSize = 5 << 40   // the largest object
	defaultPart   = 8 << 20   // Options.PartSize
	defaultConc   = 5         // Options.Concurrency
	defaultCopy   = 512 << 20 // Options.CopyPartSize
)

// The keys the driver addresses (rule K3). AWS holds 1 to 1024 bytes of
// UTF-8, any character but NUL, any segments. An S3-compatible server (a
// client with an endpoint) may hold fewer, and worse, store a key under
// another name, which a read or a Delete of the key would then reach:
// MinIO stores "/a" as "a"; versitygw also "a//b", "a/./b" and "a/../b"
// as "a/b", "a/b" and "b", and drops control characters. So there a key
// may not start with "/", have an empty, "." or ".." segment, or hold a
// control character; "dir/" markers and segments ending in "." pass.
var (
	awsKeyRules    = driver.KeyRules{Backend: "S3", MaxLen: driver.MaxKeyLen}
	serverKeyRules = driver.KeyRules{Backend: "this S3-compatible server", MaxLen: driver.MaxKeyLen,
		NoLeadingSlash: true, CleanSegments: true, NoControl: true}
)

// keyRules returns the rules for the server client sends requests to.
func keyRules(client *awss3.Client) driver.KeyRules {
	if client.Options().BaseEndpoint != nil {
		return serverKeyRules
	}
	return awsKeyRules
}

// maxParts is the most parts one upload may have. Tests lower it.
var maxParts = 10_000

// Options tune a Store. The zero value, and a nil *Options, mean the
// defaults.
type Options struct {
	// Prefix is a key prefix the store works under, like the path of an s3://
	// URL: "" or a valid key, with or without a trailing "/".
	Prefix string

	// PartSize is the part size of multipart uploads: 5 MiB to 5 GiB, and
	// 8 MiB when zero. PutOptions.PartSize overrides it per call (raised to
	// 5 MiB, lowered to 5 GiB). An upload of unknown size keeps it for the
	// first parts and then doubles it at intervals chosen so that a 5 TiB
	// stream fits in 10,000 parts; at 8 MiB it stays put for the first
	// 8 GiB or so.
	PartSize int64

	// Concurrency is the number of parts uploaded or copied at once, 5 when
	// zero. PutOptions.Concurrency overrides it per call. An upload holds at
	// most Concurrency part buffers of the current part size.
	Concurrency int

	// MultipartThreshold is the largest body sent with one PutObject; a
	// larger one is a multipart upload. Zero means the part size of the
	// call. A body of unknown size is buffered up to the threshold to find
	// out which it is, so a threshold above the part size adds to the
	// memory an upload holds.
	MultipartThreshold int64

	// CopyThreshold is the largest source copied with one CopyObject; a
	// larger one is copied with parallel UploadPartCopy requests. Zero
	// means, and the most is, 5 GiB, the most CopyObject takes.
	CopyThreshold int64

	// CopyPartSize is the part size of a multipart copy: 5 MiB to 5 GiB,
	// 512 MiB when zero, and raised so that the copy fits in 10,000 parts.
	CopyPartSize int64

	// Keys is the rule for the keys Put and Copy create, like the keys=
	// URL parameter: objstore.KeysPortable (the zero value, rule K1) or
	// objstore.KeysNative, any key S3 can hold (rule K4). Reads address
	// any key S3 can hold either way (rule K3).
	Keys objstore.KeyMode

	// HTTPClient, if set, sends this store's S3 requests in place of the
	// pipeline's own transport, under its retries, logging and tracing.
	// Credential providers keep the SDK's client.
	HTTPClient awss3.HTTPClient

	// ClientOptions configure the HTTP pipeline: retries, telemetry,
	// logging, tracing, proxy and transport bounds. See
	// [objstore.ClientOptions] for how they combine with the environment
	// and the URL. The SDK's own retryer is replaced by the pipeline's.
	ClientOptions *objstore.ClientOptions

	pipe    *pipeline.Pipeline // built by OpenURL from the URL's parameters
	profile string             // the URL's profile=
}

// Store is an objstore.Store on one S3 bucket: the portable store over
// the driver's bucket, with what S3 offers beyond the Store interface
// (ListBuckets). It is safe for concurrent use.
type Store struct {
	objstore.Store
	b *bucket
}

// bucket is the driver.Bucket on one S3 bucket: it translates each
// primitive into S3 requests, and classifies their failures.
type bucket struct {
	pipe     *pipeline.Pipeline
	client   *awss3.Client
	bucket   string
	prefix   string  // the store's URL prefix, which every key arrives with
	opts     Options // with the defaults filled in
	callOpts []func(*awss3.Options)

	// bucketState is what the store knows of its bucket (bucketUnknown,
	// bucketExists, bucketMissing); a bare 404 is settled with one
	// request about the bucket while holding bucketAsk (a semaphore of
	// one), whose 404 bucketErr keeps (see settle404).
	bucketState atomic.Int32
	bucketAsk   chan struct{}
	bucketErr   error
	// chainHint says where the credential chain looked, for an error
	// that found no credentials.
	chainHint string
}

var (
	_ driver.Bucket     = (*bucket)(nil)
	_ driver.Operations = (*bucket)(nil)
)

// New returns a Store on bucket through client, for apps that already hold
// an SDK client. The client is used as it is: against a server other than
// AWS, configure it with RequestChecksumCalculation and
// ResponseChecksumValidation set to "when required", as [OpenURL] does:
// some S3-compatible servers reject the checksums the SDK sends by default,
// or store their aws-chunked framing as object bytes. New sends no
// request; a missing bucket shows as ErrBucketNotFound on the first
// operation. A nil client, an empty bucket or invalid options give
// ErrInvalidArgument.
func New(client *awss3.Client, bucketName string, opts *Options) (*Store, error) {
	if client == nil {
		return nil, invalid("the SDK client is nil; pass one from s3.NewFromConfig")
	}
	if msg := checkBucket(bucketName); msg != "" {
		return nil, invalid(msg)
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	if err := o.fill(); err != nil {
		return nil, err
	}
	pipe := o.pipe
	if pipe == nil {
		var err error
		if pipe, err = newPipeline(nil, o); err != nil {
			return nil, err
		}
	}
	o.pipe, o.HTTPClient, o.ClientOptions = nil, nil, nil
	s := &bucket{client: client, bucket: bucketName, opts: o, pipe: pipe, chainHint: chainHint(o.profile),
		bucketAsk: make(chan struct{}, 1)}
	s.callOpts = []func(*awss3.Options){func(so *awss3.Options) {
		so.HTTPClient = pipe
		if so.Credentials != nil {
			// nil is anonymous.
			so.Credentials = credentialsProbe{so.Credentials}
		}
		// One retry loop, the pipeline's: the SDK's would multiply it.
		so.Retryer = aws.NopRetryer{}
		so.APIOptions = append(so.APIOptions, addRewind)
	}}
	st, err := objstore.NewStore(s, "/"+o.Prefix)
	if err != nil {
		return nil, err
	}
	s.prefix = strings.TrimPrefix(o.Prefix, "/")
	if s.prefix != "" && !strings.HasSuffix(s.prefix, "/") {
		s.prefix += "/"
	}
	return &Store{Store: st, b: s}, nil
}

// Info names the driver and the keys S3, or the server, can address.
func (s *bucket) Info() driver.Info {
	return driver.Info{Scheme: Scheme, Rules: keyRules(s.client), Native: s.opts.Keys == objstore.KeysNative}
}

// newPipeline resolves the pipeline's configuration from query (the URL's
// parameters, or nil), o.ClientOptions, the global options and the
// environment; o.HTTPClient, if set, is its base transport.
func newPipeline(query map[string]string, o Options) (*pipeline.Pipeline, error) {
	cfg, err := resolve(query, o)
	if err != nil {
		return nil, err
	}
	return pipeline.New(cfg), nil
}

// resolve is newPipeline's configuration.
func resolve(query map[string]string, o Options) (pipeline.Config, error) {
	co := objstore.ClientOptions{}
	if o.ClientOptions != nil {
		co = *o.ClientOptions
	}
	if o.HTTPClient != nil && co.Transport == nil {
		co.Transport = doer{o.HTTPClient}
	}
	return pipeline.Resolve(Scheme, query, &co)
}

// doer adapts an SDK HTTPClient to a RoundTripper.
type doer struct{ c awss3.HTTPClient }

func (d doer) RoundTrip(r *http.Request) (*http.Response, error) { return d.c.Do(r) }

// addRewind lets the pipeline send a request body again. The SDK builds
// its http.Request without GetBody, so the request's seekable stream is
// passed on in the context instead; the middleware runs last, after
// signing.
func addRewind(stack *middleware.Stack) error {
	return stack.Finalize.Add(middleware.FinalizeMiddlewareFunc("objstore.rewind",
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			if req, ok := in.Request.(*smithyhttp.Request); ok && req.GetStream() != nil && req.IsStreamSeekable() {
				ctx = pipeline.WithRewind(ctx, func() (io.Reader, error) {
					if err := req.RewindStream(); err != nil {
						return nil, err
					}
					return req.GetStream(), nil
				})
			}
			return next.HandleFinalize(ctx, in)
		}), middleware.After)
}

// fill checks o and fills in the defaults.
func (o *Options) fill() error {
	fail := func(format string, args ...any) error {
		return invalid(fmt.Sprintf(format, args...))
	}
	switch {
	case driver.CheckKeyMode(o.Keys) != "":
		return fail("%s", driver.CheckKeyMode(o.Keys))
	case o.PartSize == 0:
		o.PartSize = defaultPart
	case o.PartSize < minPartSize || o.PartSize > maxPartSize:
		return fail("Options.PartSize is %d; S3 parts are 5 MiB (%d) to 5 GiB (%d), or 0 for the default of 8 MiB", o.PartSize, minPartSize, int64(maxPartSize))
	}
	switch {
	case o.Concurrency == 0:
		o.Concurrency = defaultConc
	case o.Concurrency < 0:
		return fail("Options.Concurrency is %d; use 0 for the default of %d, or a positive count", o.Concurrency, defaultConc)
	}
	switch {
	case o.MultipartThreshold < 0 || o.MultipartThreshold > maxPartSize:
		return fail("Options.MultipartThreshold is %d; a single PutObject takes 0 to 5 GiB (%d); 0 means the part size", o.MultipartThreshold, int64(maxPartSize))
	}
	switch {
	case o.CopyThreshold == 0:
		o.CopyThreshold = maxPartSize
	case o.CopyThreshold < 0 || o.CopyThreshold > maxPartSize:
		return fail("Options.CopyThreshold is %d; CopyObject takes sources of 0 to 5 GiB (%d); 0 means 5 GiB", o.CopyThreshold, int64(maxPartSize))
	}
	switch {
	case o.CopyPartSize == 0:
		o.CopyPartSize = defaultCopy
	case o.CopyPartSize < minPartSize || o.CopyPartSize > maxPartSize:
		return fail("Options.CopyPartSize is %d; S3 parts are 5 MiB (%d) to 5 GiB (%d), or 0 for the default of 512 MiB", o.CopyPartSize, minPartSize, int64(maxPartSize))
	}
	return nil
}

// checkBucket reports why name cannot be a bucket name, or "". It checks
// only what every S3-compatible server agrees on; the server has the last
// word.
func checkBucket(name string) string {
	if name == "" {
		return "the bucket name is empty; write s3://bucket"
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return fmt.Sprintf("the bucket name %q has the character %q; bucket names are letters, digits, '.', '-' and '_'", name, c)
		}
	}
	return ""
}

// Begin begins an operation in the pipeline: its span, its log line, its
// retry budget, which a Get's requests share with its Reader's
// resumptions (driver.Operations).
func (s *bucket) Begin(ctx context.Context, op, key string) (context.Context, func(error) error) {
	ctx, end := s.pipe.Begin(ctx, op, key)
	if op == "get" {
		ctx = pipeline.Stream(ctx)
	}
	return ctx, func(err error) error {
		if err == nil && op != "delete" && s.bucketState.Load() != bucketExists {
			// The bucket exists (a Delete may succeed without one on
			// some servers).
			s.bucketState.Store(bucketExists)
		}
		return end(err)
	}
}

// ListBuckets returns the names of the buckets the store's credentials
// own, with one ListBuckets request a page: for what the Store interface
// does not cover, such as the command's ls of a URL without a bucket. Its
// errors are classified as the store's operations' are.
func (st *Store) ListBuckets(ctx context.Context) (_ []string, err error) {
	s := st.b
	if err := ctx.Err(); err != nil {
		return nil, &driver.Error{Err: err}
	}
	ctx, end := s.pipe.Begin(ctx, "listbuckets", "")
	defer func() { err = end(err) }()
	var names []string
	pages := awss3.NewListBucketsPaginator(s.client, &awss3.ListBucketsInput{})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx, s.callOpts...)
		if err != nil {
			return names, &driver.Error{Err: s.fail(ctx, "list buckets", "", err, condNone)}
		}
		for _, b := range page.Buckets {
			names = append(names, aws.ToString(b.Name))
		}
	}
	return names, nil
}

// Stat returns the attributes of the object at key with one HeadObject. A
// missing key gives ErrNotFound, a missing bucket ErrBucketNotFound. A
// server that answers a HEAD in a missing bucket with a bare 404, as AWS
// and versitygw do (MinIO names the code in X-Minio-Error-Code), is asked
// once with a ListObjectsV2 of no keys which of the two is missing; the
// store remembers the answer, and asks no more once it has seen its bucket
// exist. That request's error names its code, so an unknown access key on
// versitygw (404 XAdminUserNotFound) reads as ErrUnauthenticated. The same
// holds for every other 404 that does not say what is missing.
func (s *bucket) Stat(ctx context.Context, key string) (driver.Attrs, error) {
	out, err := s.client.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: &s.bucket, Key: &key}, s.callOpts...)
	if err != nil {
		return driver.Attrs{}, s.fail(ctx, "stat", key, err, condNone)
	}
	return headAttrs(key, out), nil
}

// Delete removes the object at key with one DeleteObject. A missing key is
// not an error; a missing bucket is ErrBucketNotFound.
func (s *bucket) Delete(ctx context.Context, key string) error {
	_, err := s.client.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: &s.bucket, Key: &key}, s.callOpts...)
	if err != nil {
		// Some S3-compatible servers answer NoSuchKey, which the portable
		// store takes as success; S3 answers 204.
		return s.fail(ctx, "delete", key, err, condNone)
	}
	return nil
}

// Close closes the pipeline's idle connections. It does not close the SDK
// client, which holds nothing that needs closing.
func (s *bucket) Close() error {
	s.pipe.CloseIdle()
	return nil
}

// headAttrs returns the attributes a HeadObject response carries.
func headAttrs(key string, out *awss3.HeadObjectOutput) driver.Attrs {
	return driver.Attrs{
		Key:         key,
		Size:        aws.ToInt64(out.ContentLength),
		ETag:        driver.QuoteETag(aws.ToString(out.ETag)),
		ModTime:     aws.ToTime(out.LastModified).UTC(),
		ContentType: driver.ContentTypeOrDefault(aws.ToString(out.ContentType)),
		Metadata:    driver.NormalizeMetadata(out.Metadata),
	}
}

// serverTime returns the Date of the response md belongs to, which stands
// for the object's modification time where S3 returns none (PutObject,
// CompleteMultipartUpload). Without a Date it returns the local time.
func serverTime(md middleware.Metadata) time.Time {
	if t, ok := awsmiddleware.GetServerTime(md); ok {
		return t.UTC()
	}
	return time.Now().UTC().Truncate(time.Second)
}

// stringOrNil returns a pointer to s, or nil when s is empty, for the
// optional fields of SDK inputs.
func stringOrNil(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
