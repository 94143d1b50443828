// Package objstore is one API for object storage: Amazon S3 and
// S3-compatible servers, Azure Blob Storage, and an in-memory store for
// tests. A driver is chosen at run time by URL scheme through [Open];
// drivers register themselves from their package's init function, the way
// database/sql drivers do.
//
// Every driver honours the same contract, written down rule by rule in
// docs/SEMANTICS.md and checked by the conformance package.
package objstore

import (
	"context"
	"io"
	"iter"
	"time"
)

// Store is a flat namespace of objects addressed by key.
//
// A Store is safe for concurrent use. Every method that does I/O takes a
// context first and returns promptly once it is cancelled. Errors are
// classified: test them with errors.Is against ErrNotFound, ErrExists and
// the other Err values in this package, and reach the SDK's own error with
// errors.As.
type Store interface {
	// Stat returns the attributes of the object at key. A missing key gives
	// ErrNotFound; a prefix that has children is not an object.
	Stat(ctx context.Context, key string) (Attrs, error)

	// Get opens the object at key for reading. The caller must Close the
	// Reader. A nil opts reads the whole object.
	Get(ctx context.Context, key string, opts *GetOptions) (*Reader, error)

	// Put writes body to key atomically: readers see the old object or the
	// new one, never part of either. An error or a cancelled context while
	// body is read leaves the previous state untouched. A nil opts means
	// the defaults.
	//
	// A body that implements io.ReaderAt and Size() int64, as
	// *io.SectionReader does, and has not been read from (see
	// ReaderAtBody) may be read in parallel: drivers that upload in parts
	// (s3, azblob) read each part with ReadAt, opts.Concurrency at a time,
	// without buffering it, and can send a failed part again on its own.
	// Such a body must then serve ReadAt calls concurrently. Either way the
	// object holds the body's Size bytes. Any other body is read once,
	// from start to end, with Read.
	Put(ctx context.Context, key string, body io.Reader, opts *PutOptions) (Attrs, error)

	// Delete removes the object at key. Deleting a missing key returns nil.
	Delete(ctx context.Context, key string) error

	// List yields the objects (and, with a delimiter, the common prefixes)
	// in byte order of key. An error is yielded once, as the last pair.
	// Breaking out of the loop stops further requests.
	List(ctx context.Context, opts *ListOptions) iter.Seq2[Entry, error]

	// Copy copies the object at src to dst within the store.
	Copy(ctx context.Context, dst, src string, opts *CopyOptions) (Attrs, error)

	// Close releases the resources the Store holds. Calls after Close fail.
	Close() error
}

// Attrs describes one object.
type Attrs struct {
	// Key is the object's key, relative to the store's URL prefix.
	Key string
	// Size is the object's length in bytes.
	Size int64
	// ETag identifies this version of the object. It is quoted, like an
	// HTTP entity tag, and changes on every write.
	ETag string
	// ModTime is the server's time of the write.
	ModTime time.Time
	// ContentType is returned exactly as written; it defaults to
	// application/octet-stream.
	ContentType string
	// Metadata holds user metadata, keys lowercase. It is nil when the
	// object has none, and also in list results, which do not carry it.
	Metadata map[string]string
}

// Range selects Length bytes starting at Offset. A negative Length reads to
// the end of the object.
type Range struct {
	Offset, Length int64
}

// GetOptions adjusts Get. The zero value reads the whole object
// unconditionally.
type GetOptions struct {
	// Range restricts the bytes served. See rule G3 in docs/SEMANTICS.md.
	Range *Range
	// IfMatch fails with ErrPrecondition unless the object's ETag matches.
	// "*" matches any existing object.
	IfMatch string
	// IfNoneMatch fails with ErrNotModified when the object's ETag matches.
	// "*" matches any existing object.
	IfNoneMatch string
}

// PutOptions adjusts Put. The zero value writes unconditionally with the
// default content type and no metadata.
type PutOptions struct {
	// ContentType is stored and returned verbatim. Empty means
	// application/octet-stream.
	ContentType string
	// Metadata is user metadata. See rule M1 for the accepted keys and
	// values.
	Metadata map[string]string
	// IfAbsent makes the put fail with ErrExists when the key exists.
	IfAbsent bool
	// IfMatch makes the put fail with ErrPrecondition unless the existing
	// object's ETag matches. It cannot be combined with IfAbsent.
	IfMatch string

	// PartSize is the size of each part of a multipart upload, for drivers
	// that have one. Zero picks the driver's default; drivers grow it when a
	// body would otherwise need more parts than the service allows.
	PartSize int64
	// Concurrency is the number of parts uploaded at once. Zero picks the
	// driver's default. Memory held by an upload is bounded by
	// Concurrency × PartSize; a body read with ReadAt (see Store.Put)
	// needs no part buffers.
	Concurrency int

	// progress, when not nil, is called as the body is stored, with the
	// bytes the backend has accepted so far and the body's size (rule P8
	// of docs/SEMANTICS.md): first with done == 0, then at most about once
	// per MiB, and last, when the Put succeeds, with done == total == the
	// bytes written. total is -1 while the size is unknown (a body without
	// Len or Size). The calls never overlap, done never decreases, and no
	// call comes after Put returns. Put waits while progress runs, so it
	// should return quickly.
	Progress func(done, total int64)
}

// CopyOptions adjusts Copy.
type CopyOptions struct {
	// IfAbsent makes the copy fail with ErrExists when dst exists.
	IfAbsent bool
	// IfMatch makes the copy fail with ErrPrecondition unless src's ETag
	// matches.
	IfMatch string

	// progress, when not nil, is called with the bytes copied so far and
	// src's size, by the rules of PutOptions.Progress (rule C7 of
	// docs/SEMANTICS.md). A copy done by the server in one request reports
	// (0, size) and then (size, size); a driver that learns src's size
	// only at the end reports (0, -1) first.
	Progress func(done, total int64)
}

// ListOptions adjusts List. The zero value lists every object, flat.
type ListOptions struct {
	// Prefix is a raw string prefix of the keys listed ("fo" matches
	// "foo/x").
	Prefix string
	// Delimiter is "" (flat) or "/" (direct children plus common
	// prefixes).
	Delimiter string
	// StartAfter lists only keys strictly greater than it. It need not
	// exist.
	StartAfter string
	// PageSize is how many entries each request asks for. Zero means 1000;
	// larger values are lowered to 1000.
	PageSize int
}

// Entry is one result of List: an object, or with a delimiter a common
// prefix.
type Entry struct {
	Attrs
	// IsPrefix reports a common prefix. Key holds it, ending in the
	// delimiter; the other attributes are zero.
	IsPrefix bool
}

// Reader reads one object, or a range of it. It is returned by Store.Get and
// must be closed.
type Reader struct {
	// Attrs are the whole object's attributes; Size is the full size even
	// when a range is served.
	Attrs Attrs
	// Offset and Length are the bytes this reader serves.
	Offset, Length int64

	body io.ReadCloser
	read int64

	// A Reader of the portable store: drv names the driver its body's
	// failures are reported as, and a broken body resumes with reopen,
	// under rctx, once resume holds the state of its resumptions (made at
	// the first failure, since most reads never need it).
	drv    string
	rctx   context.Context
	reopen reopenFunc
	src    *portable // with full: reopen is src.reopen(Attrs.Key, full), made when needed
	full   string
	resume *resumer
}

// NewReader is for Store wrappers and test doubles: it returns a Reader
// that serves body as the bytes [offset, offset+length) of the object
// described by attrs. The Reader
// checks that body yields exactly length bytes and reports a short body as
// io.ErrUnexpectedEOF.
func NewReader(body io.ReadCloser, attrs Attrs, offset, length int64) *Reader {
	return &Reader{Attrs: attrs, Offset: offset, Length: length, body: body}
}

// Read reads the next bytes of the object. A body that ends before Length
// bytes gives io.ErrUnexpectedEOF. A Reader from [newResumableReader]
// first tries to resume after such an error, and after the other network
// errors it documents.
func (r *Reader) Read(p []byte) (int, error) {
	if r.body == nil {
		return 0, errReaderClosed
	}
	remaining := r.Length - r.read
	if remaining <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > remaining {
		p = p[:remaining]
	}
	for {
		n, err := r.body.Read(p)
		r.read += int64(n)
		if err != nil && err != io.EOF && r.drv != "" {
			// The body's failure is the Get's (rule E1).
			err = wrapError(r.drv, "get", r.Attrs.Key, err)
		}
		if err == io.EOF && r.read < r.Length {
			err = io.ErrUnexpectedEOF
		}
		if err == nil && r.read == r.Length {
			err = io.EOF
		}
		if err == nil || err == io.EOF || r.reopen == nil && r.src == nil {
			return n, err
		}
		if r.read == r.Length {
			// Every byte arrived; the failure came after the last one.
			return n, io.EOF
		}
		if rerr := r.resumeAfter(err); rerr != nil || n > 0 {
			// Bytes that arrived before the failure are served first; the
			// next Read reports rerr, which the body now returns.
			if n > 0 {
				return n, nil
			}
			return 0, rerr
		}
		// Resumed without serving anything yet: read from the new body.
	}
}

// copyChunk is the most WriteTo reads before it writes.
const copyChunk = 1 << 20

// WriteTo writes the rest of the object to w, so that io.Copy(w, r) moves
// it in writes of up to a MiB (less for a smaller object), each filled by
// as many Reads as it takes, rather than in io.Copy's 32 KiB (8 KiB into
// io.Discard): a read or write syscall per 32 KiB is what made a copy
// slower than the network. It returns the bytes written and the first
// error of Read (as Read reports it: io.ErrUnexpectedEOF for a short body)
// or of w; reaching the end is not an error.
func (r *Reader) WriteTo(w io.Writer) (int64, error) {
	if r.body == nil {
		return 0, errReaderClosed
	}
	remaining := r.Length - r.read
	if remaining <= 0 {
		return 0, nil
	}
	buf := make([]byte, min(remaining, copyChunk))
	var written int64
	for {
		n, rerr := r.fill(buf)
		if n > 0 {
			m, werr := w.Write(buf[:n])
			written += int64(m)
			if werr == nil && m < n {
				werr = io.ErrShortWrite
			}
			if werr != nil {
				return written, werr
			}
		}
		switch {
		case rerr == io.EOF:
			return written, nil
		case rerr != nil:
			return written, rerr
		}
	}
}

// fill reads into buf until it is full or Read fails, and returns the
// bytes read and Read's error (io.EOF at the end): a body read returns a
// TLS record or a socket read's worth (often 16-32 KiB), and a write per
// read would make the writes, not the network, the cost of a copy.
func (r *Reader) fill(buf []byte) (n int, err error) {
	for n < len(buf) && err == nil {
		var m int
		m, err = r.Read(buf[n:])
		n += m
	}
	return n, err
}

// Close releases the body. It is safe to call more than once.
func (r *Reader) Close() error {
	if r.body == nil {
		return nil
	}
	err := r.body.Close()
	r.body = nil
	return err
}
