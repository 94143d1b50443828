// Package driver is what an objstore backend implements: a few primitives
// over one bucket, the way database/sql/driver is what a database driver
// implements. Users never call it; they call the objstore package, whose
// portable Store (objstore.NewStore) enforces the contract of
// docs/SEMANTICS.md once, for every driver, over these primitives:
//
//   - validation of keys, options and metadata, before any request;
//   - the closed check, and a done context;
//   - progress callbacks;
//   - error wrapping with driver, operation and key, and the conditional
//     remapping (a 412 under IfAbsent is ErrExists; a missing key under a
//     Put's IfMatch is ErrPrecondition);
//   - a Delete of a missing key returning nil;
//   - resuming a broken read, pinned to the ETag, and failing with
//     ErrPrecondition when the object changed;
//   - the listing guards (byte order, a token that comes back, empty
//     pages, StartAfter, the store's prefix);
//   - the check that a read carries exactly the bytes asked for.
//
// A driver translates each primitive into its SDK's calls and classifies
// the failures: it returns an error that wraps one of the Err classes of
// this package (errors.Is), optionally as an *Error with a hint. Keys
// reach it already validated and with the store's URL prefix joined in
// front; the keys it returns are the backend's.
//
// docs/DRIVERS.md says how to write one and how to prove it with the
// conformance package.
//
// This package is a leaf: it imports nothing of objstore.
package driver

import (
	"context"
	"io"
	"time"
)

// Bucket is the set of primitives a backend provides. Its methods are
// called concurrently. Keys are backend keys: valid for the backend's
// KeyRules and prefixed with the store's URL prefix.
type Bucket interface {
	// Info describes the driver and what its backend can address. It is
	// called once, when the portable store is made.
	Info() Info

	// Stat returns the attributes of the object at key, or an error of
	// class ErrNotFound (or ErrBucketNotFound).
	Stat(ctx context.Context, key string) (Attrs, error)

	// Get starts a read of the object at key: the bytes r asks for, under
	// its conditions. A range that starts past the end of the object is
	// ErrInvalidRange; one that starts at the end serves nothing. The
	// Object says which bytes its Body carries as the backend reported
	// them (for HTTP, from Content-Range and Content-Length, see
	// ServedRange); the portable store checks that they are exactly the
	// bytes asked for before it serves one, and that Body yields that
	// many.
	Get(ctx context.Context, key string, r GetRequest) (Object, error)

	// Put writes body to key in one atomic step: readers see the old
	// object or the new one. A failed or cancelled body read leaves the
	// previous state. It honours IfAbsent (ErrExists) and IfMatch
	// (ErrPrecondition) atomically. It calls r.Progress.Add with the
	// bytes the backend has accepted.
	Put(ctx context.Context, key string, body io.Reader, r PutRequest) (Attrs, error)

	// Delete removes the object at key. A missing key may be nil or
	// ErrNotFound: the portable store returns nil for both.
	Delete(ctx context.Context, key string) error

	// List returns one page of the listing r describes, in byte order of
	// key, with the common prefixes merged in when r.Delimiter is set.
	List(ctx context.Context, r ListRequest) (Page, error)

	// Copy copies the object at src to dst within the bucket. A missing
	// src is ErrNotFound; a src whose ETag does not match r.IfMatch is
	// ErrPrecondition; an existing dst under r.IfAbsent is ErrExists.
	Copy(ctx context.Context, dst, src string, r CopyRequest) (Attrs, error)

	// Close releases what the bucket holds. The portable store calls it
	// once and fails every call after it before it reaches the driver.
	Close() error
}

// Info describes a driver's bucket to the portable store.
type Info struct {
	// Scheme is the URL scheme, used in errors: "mem", "s3".
	Scheme string
	// Rules are the keys the backend can address (rule K3). The zero
	// value addresses the portable keys only.
	Rules KeyRules
	// Native makes the store create any key Rules allow (rule K4, the
	// keys=native URL parameter), not only portable ones.
	Native bool
	// Root, for a backend whose objects live under a path of its own
	// (the file driver's directory), is joined in front of every key the
	// driver gets, as a URL prefix is, so that it counts toward a key's
	// length (rule K1); unlike a URL prefix it is not validated as a key.
	Root string
	// NoConditionalGet says the backend cannot read conditionally: the
	// store answers a Get's IfMatch and IfNoneMatch with ErrUnsupported,
	// and does not resume a broken read, which needs If-Match.
	NoConditionalGet bool
}

// Attrs describes one object. It has the fields of objstore.Attrs, and
// converts to it.
type Attrs struct {
	Key         string
	Size        int64
	ETag        string // quoted; see QuoteETag
	ModTime     time.Time
	ContentType string
	Metadata    map[string]string // keys lowercase; nil when none
}

// Entry is one result of a listing: an object, or with a delimiter a
// common prefix (Key ends in the delimiter; the other fields are zero).
type Entry struct {
	Attrs
	IsPrefix bool
}

// GetRequest is what Bucket.Get reads.
type GetRequest struct {
	// Offset and Length select the bytes: Length < 0 reads to the end,
	// Length 0 reads nothing (the driver still checks the conditions and
	// returns the attributes). A Length past the end is cut at the end.
	Offset, Length int64
	// IfMatch and IfNoneMatch are quoted ETags or "*": a failed IfMatch
	// is ErrPrecondition, a matching IfNoneMatch ErrNotModified.
	IfMatch, IfNoneMatch string
}

// Object is a read in progress.
type Object struct {
	// Attrs describe the whole object; Size is its full size even when a
	// range is served.
	Attrs Attrs
	// Offset and Length are the bytes Body carries, as the backend said.
	Offset, Length int64
	// Body yields them. The portable store closes it.
	Body io.ReadCloser
}

// PutRequest is what Bucket.Put writes, validated.
type PutRequest struct {
	ContentType string            // never empty
	Metadata    map[string]string // keys lowercase; nil when none
	IfAbsent    bool
	IfMatch     string
	// Size is the body's length when it tells it (Len or Size), else -1.
	Size int64
	// PartSize and Concurrency are the caller's, 0 for the driver's
	// default, for drivers that upload in parts.
	PartSize    int64
	Concurrency int
	// Progress takes the bytes the backend has accepted. Never nil.
	Progress Progress
}

// CopyRequest is what Bucket.Copy copies.
type CopyRequest struct {
	IfAbsent bool
	IfMatch  string
	// Progress takes the bytes copied; the driver calls Start with src's
	// size once it knows it. Never nil.
	Progress Progress
}

// ListRequest is one page of a listing.
type ListRequest struct {
	Prefix     string // raw prefix, with the store's prefix in front
	Delimiter  string // "" or "/"
	StartAfter string // "" or a backend key; list only keys after it
	PageSize   int    // 1 to 1000
	// Token is the Next of the previous page, "" for the first.
	Token string
}

// Page is one page of a listing.
type Page struct {
	Entries []Entry
	// Next is the token of the next page, "" when the listing is done.
	Next string
}

// Progress receives a transfer's progress. The portable store turns it
// into the caller's callback, by rule P8.
type Progress interface {
	// Start begins an attempt at moving total bytes (-1: unknown); called
	// again, the attempt starts over.
	Start(total int64)
	// Add records n more bytes moved.
	Add(n int64)
	// Reached records that done bytes have been moved in all, when that
	// is more than recorded so far: for a count that can go back, such as
	// the position in a request body that the transport reads again when
	// it retries.
	Reached(done int64)
}

// Operations is an optional interface for a driver whose requests go
// through a pipeline that keeps state per user operation: a span, a log
// line, one retry budget (rule R1). The portable store calls Begin once
// per operation, before its first primitive call, with op "stat", "get",
// "put", "delete", "list" or "copy" and the backend key ("" for list; dst
// for copy). Every primitive call of that operation gets the context
// Begin returns, a Get's resumed reads included, so that they all draw on
// one budget. end gets the operation's outcome, the error the caller will
// see (an *objstore.Error) or nil, and returns it, with what the pipeline
// adds (the attempts made).
type Operations interface {
	Begin(ctx context.Context, op, key string) (_ context.Context, end func(error) error)
}
