// Package azure is the objstore driver for Azure Blob Storage, registered
// as azblob://. It is built on the azblob SDK and authenticates with an
// account key, a connection string, a SAS or Entra ID (azidentity).
//
// Open a store with [objstore.Open] (import this package for its side
// effect), with [Open] for extra [Options], or with [New] around an
// *azblob.Client you built:
//
//	azblob://container/prefix?account=myaccount&credential=PROD
//
// # Credentials
//
// Secrets never go in the URL. credential=NAME names environment
// variables, tried in this order, the first one set being used:
//
//   - AZSTORE_<NAME>_KEY: a base64 account key, for shared-key signing
//     (account= is needed with it);
//   - AZSTORE_<NAME>_CONNECTION_STRING: AccountName with AccountKey, or
//     SharedAccessSignature; BlobEndpoint is honoured, and
//     UseDevelopmentStorage=true means Azurite's defaults;
//   - AZSTORE_<NAME>_SAS: a SAS query (sv=...&sig=...) appended to every
//     request.
//
// NAME is letters, digits and "_", and is upper-cased: credential=prod
// reads AZSTORE_PROD_KEY. Without credential=, the driver uses
// azidentity.DefaultAzureCredential (environment, workload identity,
// managed identity, Azure CLI), which needs an https endpoint. Errors name
// the variables looked at, never their values.
//
// # Writes
//
// A body up to the block size (8 MiB unless PutOptions.PartSize or
// block_size= says otherwise) is sent as one Put Blob. A larger one is
// staged as blocks with Put Block, Concurrency at a time, and committed
// with Put Block List; memory is bounded by Concurrency × block size. A
// body with ReadAt and Size (an *io.SectionReader, what
// objstore.UploadFile passes) is staged as sections read in parallel, with
// no block buffers at all. Azure allows 50,000 blocks of at most 4000 MiB: for a body whose size is
// known (it has a Len method) the block size is raised to fit from the
// start; for a stream of unknown size it doubles as late as 38 TiB still
// fits (every 5,018 blocks of 8 MiB), and memory with it; see
// internal/upload for the rule S3 shares. A body past the limit
// fails with ErrInvalidArgument, as on S3, and commits nothing. Block IDs are 16 bytes, 8
// random per upload and 8 of block number, base64-encoded.
// Conditions (IfAbsent as If-None-Match: *, IfMatch as If-Match) are
// sent on the Put Blob or on the Put Block List, so the check and the
// write are one atomic step on the server. An upload whose body fails or
// whose context is cancelled never commits its block list: the object
// keeps its previous content, and Azure garbage-collects the uncommitted
// blocks (after a week, or at the blob's next commit). Azure keeps one
// set of uncommitted blocks per blob, so when two staged uploads to the
// same key overlap, the first to commit discards the other's blocks and
// the other fails: with ErrExists or ErrPrecondition if it carried a
// condition, else with an error that says another upload won. The object
// is always one whole body.
//
// # Copy
//
// Copy either streams the source through the client into a new block
// blob, with the same bounded memory as Put, or asks the service to copy
// (Copy Blob) and polls until the copy is done; see [CopyStrategy].
//
// # Transport
//
// A store opened from a URL sends every request through objstore's HTTP
// pipeline, shared with the s3 driver: retries, telemetry, logging,
// tracing and proxy as [objstore.ClientOptions] and docs/CONFIG.md
// describe, over a transport whose idle pooled connections are dropped
// after 30 s, with TCP keepalive 30 s, dialling bounded by 10 s and each
// read of a response by 30 s, so a stalled connection fails in seconds.
//
// The driver writes nothing to stdout; it logs through log/slog only when
// configured to.
package azure

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/driver"
	"github.com/objstore-go/objstore/internal/pipeline"
)

// Azure's limits for block blobs.
const (
	maxBlocks      = 50_000
	maxBlockSize   = 4000 << 20 // bytes in one Put Block
	maxConcurrency = 64
)

// The defaults of Options.
const (
	DefaultBlockSize   = 8 << 20
	DefaultConcurrency = 4
)

// CopyStrategy chooses how Store.Copy copies.
type CopyStrategy int

const (
	// CopyAuto asks the service to copy, and streams through the client
	// when the service refuses (for instance because the credential cannot
	// authorize the source). A refusal is remembered for the store's life.
	CopyAuto CopyStrategy = iota
	// CopyStream downloads the source, pinned to its ETag, and uploads it
	// as blocks as it arrives. It works with any credential that can read
	// and write, is atomic like Put, and uses Concurrency × block size of
	// memory whatever the size.
	CopyStream
	// CopyServer uses Copy Blob only, and fails when the service refuses.
	// With an account key the source is authorized by a SAS valid for one
	// hour; with a SAS credential, by that SAS. A server-side copy that is
	// still pending when the context is cancelled is aborted, which
	// leaves a zero-length destination (Azure's behaviour); a stream copy
	// leaves the destination untouched instead.
	CopyServer
)

func (c CopyStrategy) String() string {
	switch c {
	case CopyAuto:
		return "auto"
	case CopyStream:
		return "stream"
	case CopyServer:
		return "server"
	}
	return fmt.Sprintf("CopyStrategy(%d)", int(c))
}

func parseCopyStrategy(v string) (CopyStrategy, error) {
	for _, c := range []CopyStrategy{CopyAuto, CopyStream, CopyServer} {
		if v == c.String() {
			return c, nil
		}
	}
	return 0, invalid(fmt.Sprintf("URL parameter %s=%q is not a copy strategy; use auto, stream or server", paramCopy, v))
}

// Options adjusts a store. A nil *Options, and every zero field, means
// the default. URL parameters override the fields they name.
type Options struct {
	// Prefix is the key prefix of a store made by New, like the path of an
	// azblob:// URL. Open ignores it and uses the URL's path.
	Prefix string

	// Copy chooses how Copy works. The zero value is CopyAuto.
	Copy CopyStrategy
	// BlockSize is the size of the blocks of an upload, and the largest
	// body sent as a single Put Blob. PutOptions.PartSize overrides it per
	// call. Zero means DefaultBlockSize; at most 4000 MiB.
	BlockSize int64
	// Concurrency is the number of blocks uploaded at once.
	// PutOptions.Concurrency overrides it per call. Zero means
	// DefaultConcurrency; at most 64.
	Concurrency int

	// Keys is the rule for the blob names Put and Copy create, like the
	// keys= URL parameter: objstore.KeysPortable (the zero value, rule K1)
	// or objstore.KeysNative, any name Azure can address (rule K4). Reads
	// address any such name either way (rule K3).
	Keys objstore.KeyMode

	// ClientOptions configure the HTTP pipeline: retries, telemetry,
	// logging, tracing, proxy and transport bounds (a negative ReadTimeout
	// disables the read timeout). See [objstore.ClientOptions] for how
	// they combine with the environment and the URL. A store that builds
	// its own client (Open, objstore.Open) sends every request through
	// the pipeline, with azcore's retries off; for New, build the client
	// with [NewClientOptions].
	ClientOptions *objstore.ClientOptions
}

func (o *Options) withDefaults() Options {
	var out Options
	if o != nil {
		out = *o
	}
	if out.BlockSize == 0 {
		out.BlockSize = DefaultBlockSize
	}
	if out.Concurrency == 0 {
		out.Concurrency = DefaultConcurrency
	}
	return out
}

func (o Options) validate() error {
	switch {
	case o.BlockSize < 0 || o.BlockSize > maxBlockSize:
		return invalid(fmt.Sprintf("Options.BlockSize is %d; it is 1 byte to 4000 MiB, or 0 for the default", o.BlockSize))
	case o.Concurrency < 0 || o.Concurrency > maxConcurrency:
		return invalid(fmt.Sprintf("Options.Concurrency is %d; it is 1 to %d, or 0 for the default", o.Concurrency, maxConcurrency))
	case o.Copy < CopyAuto || o.Copy > CopyServer:
		return invalid(fmt.Sprintf("Options.Copy is %v; use CopyAuto, CopyStream or CopyServer", o.Copy))
	case driver.CheckKeyMode(o.Keys) != "":
		return invalid(driver.CheckKeyMode(o.Keys))
	}
	return nil
}

// keyRules are the blob names Azure addresses as they are written: 1 to
// 1024 characters (UTF-16 code units) of UTF-8, with no control
// characters (which the service refuses), no backslash (which it reads as
// "/") and no segment ending in "." (which it strips, so that "dots./b"
// would address "dots/b", and "." and ".." segments resolve away). Metadata
// names are C# identifiers.
var keyRules = driver.KeyRules{Backend: "Azure Blob", MaxLen: 1024, UTF16: true,
	NoControl: true, NoBackslash: true, NoDotEnd: true, IdentMetadata: true}

// Store is an objstore.Store on one Azure Blob container: the portable
// store over the driver's bucket, with what Azure offers beyond the Store
// interface (the SDK clients, ListContainers). It is safe for concurrent
// use.
type Store struct {
	objstore.Store
	b *bucket
}

// bucket is the driver.Bucket on one container: it translates each
// primitive into Blob service requests and classifies their failures.
type bucket struct {
	container string
	prefix    string // the store's URL prefix, which every key arrives with
	client    *azblob.Client
	cc        *container.Client
	opts      Options
	key       *azblob.SharedKeyCredential // signs copy-source SAS; nil unless opened with an account key
	sas       *sasPolicy                  // the SAS credential, for copy sources; nil otherwise
	pipe      *pipeline.Pipeline          // New's sends no request, but gives spans, logs and attempt counts
	source    string                      // where the credential came from, for hints

	store objstore.Store // the portable store over this bucket, whose Get a stream copy reads with

	serverCopyRefused atomic.Bool // CopyAuto: the service refused Copy Blob once
	noStartFrom       atomic.Bool // the service rejected startFrom once
}

var (
	_ driver.Bucket     = (*bucket)(nil)
	_ driver.Operations = (*bucket)(nil)
)

// newStore returns the portable store over b, whose keys live under
// prefix ("" or a path, as a URL's).
func newStore(b *bucket, prefix string) (*Store, error) {
	st, err := objstore.NewStore(b, "/"+strings.TrimPrefix(prefix, "/"))
	if err != nil {
		return nil, err
	}
	if b.prefix = strings.Trim(prefix, "/"); b.prefix != "" {
		b.prefix += "/"
	}
	b.store = st
	return &Store{Store: st, b: b}, nil
}

// New returns a store on container, sending requests through client. The
// client's own pipeline (credential, transport, retries) is used as is;
// build it with the options of [NewClientOptions] to get objstore's
// retries, timeouts, logs and tracing. opts.Prefix, if set, is the key prefix. A bad
// container name, prefix or option gives ErrInvalidArgument. No request is
// sent.
func New(client *azblob.Client, containerName string, opts *Options) (*Store, error) {
	if client == nil {
		return nil, invalid("New needs an *azblob.Client; it is nil")
	}
	o := opts.withDefaults()
	if err := o.validate(); err != nil {
		return nil, err
	}
	if err := checkContainerName(containerName); err != nil {
		return nil, err
	}
	pipe, err := newPipeline(nil, o)
	if err != nil {
		return nil, err
	}
	return newStore(&bucket{
		container: containerName,
		client:    client,
		cc:        client.ServiceClient().NewContainerClient(containerName),
		opts:      o,
		pipe:      pipe,
		source:    "the *azblob.Client given to azure.New",
	}, o.Prefix)
}

// newPipeline resolves the pipeline of o.ClientOptions and query (the
// URL's parameters, or nil).
func newPipeline(query map[string]string, o Options) (*pipeline.Pipeline, error) {
	cfg, err := pipeline.Resolve(Scheme, query, o.ClientOptions)
	if err != nil {
		return nil, err
	}
	return pipeline.New(cfg), nil
}

// policyOptions are the azcore options that send every request through
// pipe: azcore's retries and telemetry are off, the pipeline does both.
func policyOptions(pipe *pipeline.Pipeline) policy.ClientOptions {
	return policy.ClientOptions{
		Transport: pipe,
		Retry:     policy.RetryOptions{MaxRetries: -1},
		Telemetry: policy.TelemetryOptions{Disabled: !pipe.Config().Telemetry},
		// azcore sets no x-ms-client-request-id by default. One per
		// operation, set before the pipeline's retries, is the same on
		// every attempt (azurecore-http-retry-requestid).
		PerCallPolicies: []policy.Policy{runtime.NewRequestIDPolicy()},
	}
}

// NewClientOptions returns the azblob client options that send a client's
// requests through the objstore pipeline configured by opts.ClientOptions
// (and the environment and global options), for an *azblob.Client built
// by hand and given to [New].
func NewClientOptions(opts *Options) (*azblob.ClientOptions, error) {
	pipe, err := newPipeline(nil, opts.withDefaults())
	if err != nil {
		return nil, err
	}
	return &azblob.ClientOptions{ClientOptions: policyOptions(pipe)}, nil
}

// newFromConfig builds the client for a resolved credential.
func newFromConfig(cfg *clientConfig, containerName, prefix string, o Options, pipe *pipeline.Pipeline) (*Store, error) {
	co := &azblob.ClientOptions{ClientOptions: policyOptions(pipe)}
	var (
		client *azblob.Client
		sasP   *sasPolicy
		err    error
	)
	switch cfg.kind {
	case credSharedKey:
		client, err = azblob.NewClientWithSharedKeyCredential(cfg.serviceURL, cfg.key, co)
	case credSAS:
		sasP = &sasPolicy{query: cfg.sas}
		co.PerCallPolicies = append(co.PerCallPolicies, sasP)
		client, err = azblob.NewClientWithNoCredential(cfg.serviceURL, co)
	default:
		var cred *azidentity.DefaultAzureCredential
		cred, err = azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{
			ClientOptions: policyOptions(pipe),
		})
		if err != nil {
			return nil, &objstore.Error{Driver: Scheme, Op: "open", Kind: objstore.ErrUnauthenticated, Err: err,
				Hint: "DefaultAzureCredential could not be set up; set credential=NAME to use a key, connection string or SAS instead"}
		}
		client, err = azblob.NewClient(cfg.serviceURL, cred, co)
	}
	if err != nil {
		return nil, &objstore.Error{Driver: Scheme, Op: "open", Kind: objstore.ErrInvalidArgument, Err: err}
	}
	return newStore(&bucket{
		container: containerName,
		client:    client,
		cc:        client.ServiceClient().NewContainerClient(containerName),
		opts:      o,
		key:       cfg.key,
		sas:       sasP,
		pipe:      pipe,
		source:    cfg.source,
	}, prefix)
}

// Client returns the azblob client the store sends requests through.
func (st *Store) Client() *azblob.Client { return st.b.client }

// ContainerClient returns the client of the store's container.
func (st *Store) ContainerClient() *container.Client { return st.b.cc }

// String describes the store without its credential:
// azblob://container/prefix/.
func (st *Store) String() string { return st.b.String() }

// GoString is String: %#v prints no credential either.
func (st *Store) GoString() string { return st.String() }

// Format prints String for every verb, so that no verb reaches the
// credential inside the client.
func (st *Store) Format(f fmt.State, _ rune) { io.WriteString(f, st.String()) }

// String, GoString and Format keep the bucket's credential out of
// anything that prints it, as the Store's do.
func (s *bucket) String() string             { return Scheme + "://" + s.container + "/" + s.prefix }
func (s *bucket) GoString() string           { return s.String() }
func (s *bucket) Format(f fmt.State, _ rune) { io.WriteString(f, s.String()) }

// Info names the driver and the blob names Azure addresses.
func (s *bucket) Info() driver.Info {
	return driver.Info{Scheme: Scheme, Rules: keyRules, Native: s.opts.Keys == objstore.KeysNative}
}

// Close releases idle connections. Readers already open keep working
// until they are closed.
func (s *bucket) Close() error {
	s.pipe.CloseIdle()
	return nil
}

// Begin begins an operation in the pipeline: its span, its log line, its
// retry budget, which a Get's requests share with its Reader's
// resumptions (driver.Operations).
func (s *bucket) Begin(ctx context.Context, op, key string) (context.Context, func(error) error) {
	ctx, end := s.pipe.Begin(ctx, op, key)
	if op == "get" {
		ctx = pipeline.Stream(ctx)
	}
	return ctx, end
}

// ListContainers returns the names of the containers of the store's
// account, with one List Containers request a page: for what the Store
// interface does not cover, such as the command's ls of a URL without a
// container. Its errors are classified as the store's operations' are.
func (st *Store) ListContainers(ctx context.Context) (_ []string, err error) {
	s := st.b
	if err := ctx.Err(); err != nil {
		return nil, &objstore.Error{Driver: Scheme, Op: "list containers", Err: err}
	}
	ctx, end := s.pipe.Begin(ctx, "listcontainers", "")
	defer func() { err = end(err) }()
	var names []string
	pages := s.client.NewListContainersPager(nil)
	for pages.More() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return names, &objstore.Error{Driver: Scheme, Op: "list containers", Err: s.fail("list containers", "", err, condNone)}
		}
		for _, c := range page.ContainerItems {
			if c.Name != nil {
				names = append(names, *c.Name)
			}
		}
	}
	return names, nil
}

func (s *bucket) blob(full string) *blockblob.Client { return s.cc.NewBlockBlobClient(full) }

// Stat returns the attributes of the object at key with one Get Blob
// Properties request. A missing key gives ErrNotFound, a missing
// container ErrBucketNotFound.
func (s *bucket) Stat(ctx context.Context, key string) (driver.Attrs, error) {
	p, err := s.blob(key).GetProperties(ctx, nil)
	if err != nil {
		return driver.Attrs{}, s.fail("stat", key, err, condNone)
	}
	return propsAttrs(key, p), nil
}

// Delete removes the object at key, and its snapshots. A missing key
// gives ErrNotFound, which the portable store takes as success; a missing
// container gives ErrBucketNotFound.
func (s *bucket) Delete(ctx context.Context, key string) error {
	_, err := s.blob(key).Delete(ctx, &blob.DeleteOptions{DeleteSnapshots: toPtr(blob.DeleteSnapshotsOptionTypeInclude)})
	if err != nil {
		return s.fail("delete", key, err, condNone)
	}
	return nil
}

func propsAttrs(key string, p blob.GetPropertiesResponse) driver.Attrs {
	return driver.Attrs{
		Key:         key,
		Size:        deref(p.ContentLength),
		ETag:        etagString(p.ETag),
		ModTime:     timeOf(p.LastModified),
		ContentType: driver.ContentTypeOrDefault(deref(p.ContentType)),
		Metadata:    metadataOut(p.Metadata),
	}
}

// etagString returns an ETag quoted, the way HTTP headers carry it. List
// results carry it bare.
func etagString(e *azcore.ETag) string {
	if e == nil || *e == "" {
		return ""
	}
	return driver.QuoteETag(string(*e))
}

func timeOf(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// metadataOut lowercases the keys Azure returns (HTTP canonicalizes them),
// and returns nil for none.
func metadataOut(m map[string]*string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[strings.ToLower(k)] = deref(v)
	}
	return out
}

// metadataIn returns the metadata to send, keys lowercased.
func metadataIn(m map[string]string) map[string]*string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]*string, len(m))
	for k, v := range m {
		out[strings.ToLower(k)] = toPtr(v)
	}
	return out
}

func toPtr[T any](v T) *T { return &v }

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
