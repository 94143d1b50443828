// Package memory is the in-memory objstore driver, registered as mem://.
//
// It is the reference implementation of the contract in docs/SEMANTICS.md,
// and at least as strict as the strictest cloud: it validates the names it
// creates exactly as the network drivers do (rule K1), ETags change on
// every write, ModTime has the one-second precision of HTTP dates, List
// carries no ContentType or Metadata, and conditional writes are atomic.
// It reads any key S3 holds (rule K3), and mem://NAME?keys=native writes
// them (rule K4), so that tests can hold the keys other tools write. Apps
// use it in their tests; faults.Wrap adds failures on demand.
//
// mem://NAME opens the process-wide store called NAME, created on first use;
// mem:// opens a fresh private store. A URL path is a key prefix, as with
// every driver.
package memory

import (
	"context"
	"errors"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/objstore-go/objstore"
	"github.com/objstore-go/objstore/driver"
	"github.com/objstore-go/objstore/internal/ctxio"
)

// bucket is the shared state behind one store name.
type bucket struct {
	mu      sync.RWMutex
	objects map[string]*object
	sorted  []string // the keys in byte order; nil when it must be rebuilt
	gen     atomic.Uint64
}

// object is immutable once stored: writers replace the pointer.
type object struct {
	data        []byte
	etag        string
	modTime     time.Time
	contentType string
	metadata    map[string]string
}

func newBucket() *bucket { return &bucket{objects: map[string]*object{}} }

// store is the driver.Bucket over one in-memory bucket. The portable
// Store over it (objstore.NewStore) validates, wraps errors, counts
// progress and checks what Get serves; store does the rest.
type store struct {
	b      *bucket // nil: the bucket does not exist (create=false)
	native bool
}

// New returns a fresh, private in-memory store, like mem://.
func New() objstore.Store { return newStore(newBucket(), "", false) }

// keyRules are the keys the memory driver addresses: those S3 holds, the
// most any backend does, so that tests can hold the keys other tools
// write to S3 ("dots./b.txt", "a//b", "/lead", "dir/") and read them
// through a portable store (rule K3).
var keyRules = driver.KeyRules{Backend: "the memory driver", MaxLen: driver.MaxKeyLen}

// newStore returns the portable Store over b. prefix is the URL path,
// already validated by the caller's URL checks.
func newStore(b *bucket, prefix string, native bool) objstore.Store {
	s, err := objstore.NewStore(&store{b: b, native: native}, prefix)
	if err != nil {
		panic(err) // open validates the prefix first
	}
	return s
}

var (
	errNoBucket      = errors.New("no memory store by this name; open it without create=false to create it")
	errPutNotAbsent  = errors.New("the key exists and IfAbsent was set")
	errETagMismatch  = errors.New("the ETag does not match")
	errGetNotChanged = errors.New("the ETag matches IfNoneMatch")
)

func (s *store) Info() driver.Info {
	return driver.Info{Scheme: Scheme, Rules: keyRules, Native: s.native}
}

// begin checks the bucket.
func (s *store) begin() error {
	if s.b == nil {
		return &driver.Error{Kind: driver.ErrBucketNotFound, Err: errNoBucket}
	}
	return nil
}

func (o *object) attrs(key string) driver.Attrs {
	return driver.Attrs{
		Key:         key,
		Size:        int64(len(o.data)),
		ETag:        o.etag,
		ModTime:     o.modTime,
		ContentType: o.contentType,
		Metadata:    maps.Clone(o.metadata),
	}
}

func (b *bucket) lookup(full string) *object {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.objects[full]
}

// Stat returns the attributes of the object at key.
func (s *store) Stat(ctx context.Context, key string) (driver.Attrs, error) {
	if err := s.begin(); err != nil {
		return driver.Attrs{}, err
	}
	o := s.b.lookup(key)
	if o == nil {
		return driver.Attrs{}, driver.ErrNotFound
	}
	return o.attrs(key), nil
}

// Get serves the bytes r asks for.
func (s *store) Get(ctx context.Context, key string, r driver.GetRequest) (driver.Object, error) {
	if err := s.begin(); err != nil {
		return driver.Object{}, err
	}
	o := s.b.lookup(key)
	if o == nil {
		return driver.Object{}, driver.ErrNotFound
	}
	if r.IfMatch != "" && !etagMatches(r.IfMatch, o.etag) {
		return driver.Object{}, &driver.Error{Kind: driver.ErrPrecondition, Err: errETagMismatch}
	}
	if r.IfNoneMatch != "" && etagMatches(r.IfNoneMatch, o.etag) {
		return driver.Object{}, &driver.Error{Kind: driver.ErrNotModified, Err: errGetNotChanged}
	}
	off, n, err := driver.Resolve(r, int64(len(o.data)))
	if err != nil {
		return driver.Object{}, err
	}
	body := &bodyReader{ctx: ctx, data: o.data[off : off+n]}
	return driver.Object{Attrs: o.attrs(key), Offset: off, Length: n, Body: body}, nil
}

func etagMatches(cond, etag string) bool { return cond == "*" || cond == etag }

// Put stores body at key. The body is read in full before the bucket is
// locked, so a failed or cancelled read leaves the previous object, and
// the condition check and the write are one atomic step. Progress counts
// the bytes read from body.
func (s *store) Put(ctx context.Context, key string, body io.Reader, r driver.PutRequest) (driver.Attrs, error) {
	if err := s.begin(); err != nil {
		return driver.Attrs{}, err
	}
	data, err := readBody(ctx, body, r.Progress)
	if err != nil {
		return driver.Attrs{}, err
	}
	o := &object{data: data, contentType: r.ContentType, metadata: r.Metadata}
	if err := s.store(ctx, key, o, r.IfAbsent, r.IfMatch); err != nil {
		return driver.Attrs{}, err
	}
	return o.attrs(key), nil
}

// store writes o at full if the conditions hold, stamping its ETag and
// ModTime under the lock.
func (s *store) store(ctx context.Context, full string, o *object, ifAbsent bool, ifMatch string) error {
	// Stamped before the lock, to keep the critical section short; a write
	// that loses its condition wastes one generation.
	o.etag = `"` + strconv.FormatUint(s.b.gen.Add(1), 36) + `"`
	// HTTP dates carry whole seconds; so does this driver, so that no app
	// comes to rely on finer times in its tests.
	o.modTime = time.Now().UTC().Truncate(time.Second)
	b := s.b
	b.mu.Lock()
	defer b.mu.Unlock()
	// A cancel that arrived while the body was read must win over the write.
	if err := ctx.Err(); err != nil {
		return err
	}
	old := b.objects[full]
	switch {
	case ifAbsent && old != nil:
		return &driver.Error{Kind: driver.ErrExists, Err: errPutNotAbsent}
	case ifMatch != "" && (old == nil || !etagMatches(ifMatch, old.etag)):
		return &driver.Error{Kind: driver.ErrPrecondition, Err: errETagMismatch}
	}
	if old == nil {
		b.sorted = nil
	}
	b.objects[full] = o
	return nil
}

// Delete removes the object at key; a missing key is not an error.
func (s *store) Delete(ctx context.Context, key string) error {
	if err := s.begin(); err != nil {
		return err
	}
	b := s.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.objects[key]; ok {
		delete(b.objects, key)
		b.sorted = nil
	}
	return nil
}

// Copy copies src to dst in one atomic step. The bytes are shared, not
// duplicated: stored objects are immutable. Progress gets (0, size) and then
// (size, size).
func (s *store) Copy(ctx context.Context, dst, src string, r driver.CopyRequest) (driver.Attrs, error) {
	if err := s.begin(); err != nil {
		return driver.Attrs{}, err
	}
	from := s.b.lookup(src)
	if from == nil {
		return driver.Attrs{}, driver.ErrNotFound
	}
	if r.IfMatch != "" && !etagMatches(r.IfMatch, from.etag) {
		return driver.Attrs{}, &driver.Error{Kind: driver.ErrPrecondition, Err: errETagMismatch}
	}
	r.Progress.Start(int64(len(from.data)))
	o := &object{data: from.data, contentType: from.contentType, metadata: from.metadata}
	if err := s.store(ctx, dst, o, r.IfAbsent, ""); err != nil {
		return driver.Attrs{}, err
	}
	return o.attrs(dst), nil
}

// Close does nothing: the objects of a named store stay for other handles.
func (s *store) Close() error { return nil }

// readBody reads body to its end, failing once ctx is done. A body that
// knows its length (bytes.Reader, strings.Reader, bytes.Buffer) is read
// into one exact allocation, so a stored object costs its size and no
// more.
//
// The bytes read are reported to prog as they arrive.
func readBody(ctx context.Context, body io.Reader, prog driver.Progress) ([]byte, error) {
	l, ok := body.(interface{ Len() int })
	if !ok {
		return io.ReadAll(driver.Counted(&ctxio.Reader{Ctx: ctx, R: body}, prog))
	}
	// A body that knows its length is usually in memory already: reading
	// it takes no time worth interrupting, and store checks ctx before the
	// write.
	r := driver.Counted(body, prog)
	data := make([]byte, l.Len())
	n, err := io.ReadFull(r, data)
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		return data[:n], nil // shorter than announced
	case err != nil:
		return nil, err
	}
	// Longer than announced? Read on, rather than truncate.
	var probe [1]byte
	for {
		m, err := r.Read(probe[:])
		if m > 0 {
			rest, err := io.ReadAll(r)
			return append(append(data, probe[0]), rest...), err
		}
		if err == io.EOF {
			return data, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// bodyReader serves a stored object's bytes, failing once ctx is done.
type bodyReader struct {
	ctx  context.Context
	data []byte
}

func (b *bodyReader) Read(p []byte) (int, error) {
	if err := b.ctx.Err(); err != nil {
		return 0, err
	}
	if len(b.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p, b.data)
	b.data = b.data[n:]
	return n, nil
}

func (b *bodyReader) Close() error { return nil }

// List returns one page, read under the lock. The token is the first key
// of the next page.
func (s *store) List(ctx context.Context, r driver.ListRequest) (driver.Page, error) {
	if err := s.begin(); err != nil {
		return driver.Page{}, err
	}
	// from is the inclusive lower bound of the page. No key holds a NUL
	// byte, so StartAfter+"\x00" is the least key after it.
	from := r.Prefix
	if r.StartAfter != "" && r.StartAfter+"\x00" > from {
		from = r.StartAfter + "\x00"
	}
	if r.Token != "" {
		from = r.Token
	}
	entries, next := s.b.page(r.Prefix, r.Delimiter, from, r.PageSize)
	return driver.Page{Entries: entries, Next: next}, nil
}

// page returns up to n entries from the key from onwards, and where the
// next page starts ("" when the listing is complete).
func (b *bucket) page(prefix, delim, from string, n int) (page []driver.Entry, next string) {
	b.mu.RLock()
	for b.sorted == nil {
		b.mu.RUnlock()
		b.mu.Lock()
		if b.sorted == nil {
			// Never nil, even for an empty bucket: nil means stale.
			b.sorted = slices.AppendSeq(make([]string, 0, len(b.objects)), maps.Keys(b.objects))
			slices.Sort(b.sorted)
		}
		b.mu.Unlock()
		b.mu.RLock()
	}
	defer b.mu.RUnlock()
	keys := b.sorted
	i, _ := slices.BinarySearch(keys, from)
	for i < len(keys) {
		k := keys[i]
		if !strings.HasPrefix(k, prefix) {
			break
		}
		if len(page) == n {
			return page, k
		}
		if delim != "" {
			if j := strings.Index(k[len(prefix):], delim); j >= 0 {
				p := k[:len(prefix)+j+len(delim)]
				page = append(page, driver.Entry{Attrs: driver.Attrs{Key: p}, IsPrefix: true})
				// The keys under p are contiguous; the first key after them
				// sorts at or after p with its delimiter byte incremented.
				i, _ = slices.BinarySearch(keys, p[:len(p)-1]+string(p[len(p)-1]+1))
				continue
			}
		}
		o := b.objects[k]
		page = append(page, driver.Entry{Attrs: driver.Attrs{Key: k, Size: int64(len(o.data)), ETag: o.etag, ModTime: o.modTime}})
		i++
	}
	return page, ""
}
