// Package memory is the in-memory objstore driver, registered as mem://.
//
// It is the reference implementation of the contract in docs/SEMANTICS.md,
// and at least as strict as the strictest cloud: it validates the names it
// creates exactly as the network drivers do (rule K1), ETags change on
// every write, ModTime has the one-second precision of HTTP dates, List
// carries no ContentType or Metadata, and conditional writes are atomic.
// It reads any key S3 holds (rule K3), and mem://NAME?keys=native writes
// them (rule K4), so that tests can hold the keys other tools write. Apps
// use it in their tests; Store.Inject adds failures on demand.
//
// mem://NAME opens the process-wide store called NAME, created on first use;
// mem:// opens a fresh private store. A URL path is a key prefix, as with
// every driver.
package memory

import (
	"bytes"
	"context"
	"errors"
	"io"
	"iter"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/objstore-go/objstore"
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

// Store is a handle on an in-memory bucket. Handles opened from the same
// mem://NAME share their objects; each has its own faults and its own
// Close.
type Store struct {
	b      *bucket // nil: the bucket does not exist (create=false)
	ns     objstore.Namespace
	closed atomic.Bool
	faults faults
}

// New returns a fresh, private in-memory store, like mem://.
func New() *Store { return newStore(newBucket(), objstore.Namespace{Driver: Scheme, Native: keyRules}) }

// keyRules are the keys the memory driver addresses: those S3 holds, the
// most any backend does, so that tests can hold the keys other tools
// write to S3 ("dots./b.txt", "a//b", "/lead", "dir/") and read them
// through a portable store (rule K3).
var keyRules = objstore.KeyRules{Backend: "the memory driver", MaxLen: objstore.MaxKeyLen}

func newStore(b *bucket, ns objstore.Namespace) *Store { return &Store{b: b, ns: ns} }

var _ objstore.Store = (*Store)(nil)

var (
	errClosed        = errors.New("the store is closed")
	errNoBucket      = errors.New("no memory store by this name; open it without create=false to create it")
	errPutNotAbsent  = errors.New("the key exists and IfAbsent was set")
	errETagMismatch  = errors.New("the ETag does not match")
	errGetNotChanged = errors.New("the ETag matches IfNoneMatch")
)

func (s *Store) fail(op, key string, kind, cause error) error {
	return &objstore.Error{Driver: Scheme, Op: op, Key: key, Kind: kind, Err: cause}
}

// begin checks what every operation checks first: the context, the
// handle, the bucket and any injected fault. keys are the caller's keys,
// already validated. A fault on the body, rather than on the call, is
// returned for Get and Put to apply.
func (s *Store) begin(ctx context.Context, op Op, keys ...string) (*Fault, error) {
	key := ""
	if len(keys) > 0 {
		key = keys[0]
	}
	if err := ctx.Err(); err != nil {
		return nil, s.fail(string(op), key, nil, err)
	}
	if s.closed.Load() {
		return nil, s.fail(string(op), key, nil, errClosed)
	}
	if s.b == nil {
		return nil, s.fail(string(op), key, objstore.ErrBucketNotFound, errNoBucket)
	}
	f, ok := s.faults.take(op, keys...)
	switch {
	case !ok:
		return nil, nil
	case f.AfterBytes > 0:
		return &f, nil
	}
	return nil, s.fail(string(op), key, f.Err, errInjected)
}

func (o *object) attrs(key string) objstore.Attrs {
	return objstore.Attrs{
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
func (s *Store) Stat(ctx context.Context, key string) (objstore.Attrs, error) {
	full, err := s.ns.Stat(key)
	if err != nil {
		return objstore.Attrs{}, err
	}
	if _, err := s.begin(ctx, OpStat, key); err != nil {
		return objstore.Attrs{}, err
	}
	o := s.b.lookup(full)
	if o == nil {
		return objstore.Attrs{}, s.fail("stat", key, objstore.ErrNotFound, nil)
	}
	return o.attrs(key), nil
}

// Get opens the object at key, or the range opts asks for.
func (s *Store) Get(ctx context.Context, key string, opts *objstore.GetOptions) (*objstore.Reader, error) {
	full, err := s.ns.Get(key, opts)
	if err != nil {
		return nil, err
	}
	fault, err := s.begin(ctx, OpGet, key)
	if err != nil {
		return nil, err
	}
	if opts == nil {
		opts = &objstore.GetOptions{}
	}
	o := s.b.lookup(full)
	if o == nil {
		return nil, s.fail("get", key, objstore.ErrNotFound, nil)
	}
	if opts.IfMatch != "" && !etagMatches(opts.IfMatch, o.etag) {
		return nil, s.fail("get", key, objstore.ErrPrecondition, errETagMismatch)
	}
	if opts.IfNoneMatch != "" && etagMatches(opts.IfNoneMatch, o.etag) {
		return nil, s.fail("get", key, objstore.ErrNotModified, errGetNotChanged)
	}
	offset, length, err := s.ns.ResolveRange(key, opts.Range, int64(len(o.data)))
	if err != nil {
		return nil, err
	}
	body := &bodyReader{ctx: ctx, data: o.data[offset : offset+length]}
	if fault != nil {
		return objstore.NewReader(struct {
			io.Reader
			io.Closer
		}{&faultReader{r: body, n: fault.AfterBytes, err: s.fail("get", key, fault.Err, errInjected)}, body},
			o.attrs(key), offset, length), nil
	}
	return objstore.NewReader(body, o.attrs(key), offset, length), nil
}

func etagMatches(cond, etag string) bool { return cond == "*" || cond == etag }

// Put stores body at key. The body is read in full before the bucket is
// locked, so a failed or cancelled read leaves the previous object, and
// the condition check and the write are one atomic step. Progress counts
// the bytes read from body.
func (s *Store) Put(ctx context.Context, key string, body io.Reader, opts *objstore.PutOptions) (objstore.Attrs, error) {
	full, err := s.ns.Put(key, opts)
	if err != nil {
		return objstore.Attrs{}, err
	}
	fault, err := s.begin(ctx, OpPut, key)
	if err != nil {
		return objstore.Attrs{}, err
	}
	if opts == nil {
		opts = &objstore.PutOptions{}
	}
	if body == nil {
		body = bytes.NewReader(nil)
	}
	prog := objstore.NewProgress(opts.Progress)
	defer prog.Stop()
	prog.Start(bodySize(body))
	if fault != nil {
		body = &faultReader{r: body, n: fault.AfterBytes, err: s.fail("put", key, fault.Err, errInjected)}
	}
	data, err := readBody(ctx, body, prog)
	if err != nil {
		return objstore.Attrs{}, s.fail("put", key, nil, err)
	}
	o := &object{
		data:        data,
		contentType: objstore.ContentTypeOrDefault(opts.ContentType),
		metadata:    objstore.NormalizeMetadata(opts.Metadata),
	}
	if err := s.store(ctx, "put", key, full, o, opts.IfAbsent, opts.IfMatch); err != nil {
		return objstore.Attrs{}, err
	}
	prog.Finish(int64(len(data)))
	return o.attrs(key), nil
}

// bodySize returns the size of a Put body that tells it (Size for a body
// read with ReadAt, else Len), or -1.
func bodySize(body io.Reader) int64 {
	if _, n, ok := objstore.ReaderAtBody(body); ok {
		return n
	}
	if l, ok := body.(interface{ Len() int }); ok {
		return int64(l.Len())
	}
	return -1
}

// store writes o at full if the conditions hold, stamping its ETag and
// ModTime under the lock.
func (s *Store) store(ctx context.Context, op, key, full string, o *object, ifAbsent bool, ifMatch string) error {
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
		return s.fail(op, key, nil, err)
	}
	old := b.objects[full]
	switch {
	case ifAbsent && old != nil:
		return s.fail(op, key, objstore.ErrExists, errPutNotAbsent)
	case ifMatch != "" && (old == nil || !etagMatches(ifMatch, old.etag)):
		return s.fail(op, key, objstore.ErrPrecondition, errETagMismatch)
	}
	if old == nil {
		b.sorted = nil
	}
	b.objects[full] = o
	return nil
}

// Delete removes the object at key; a missing key is not an error.
func (s *Store) Delete(ctx context.Context, key string) error {
	full, err := s.ns.Delete(key)
	if err != nil {
		return err
	}
	if _, err := s.begin(ctx, OpDelete, key); err != nil {
		return err
	}
	b := s.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.objects[full]; ok {
		delete(b.objects, full)
		b.sorted = nil
	}
	return nil
}

// Copy copies src to dst in one atomic step. The bytes are shared, not
// duplicated: stored objects are immutable. Progress gets (0, size) and then
// (size, size).
func (s *Store) Copy(ctx context.Context, dst, src string, opts *objstore.CopyOptions) (objstore.Attrs, error) {
	fullDst, fullSrc, err := s.ns.Copy(dst, src, opts)
	if err != nil {
		return objstore.Attrs{}, err
	}
	if _, err := s.begin(ctx, OpCopy, dst, src); err != nil {
		return objstore.Attrs{}, err
	}
	if opts == nil {
		opts = &objstore.CopyOptions{}
	}
	b := s.b
	from := b.lookup(fullSrc)
	if from == nil {
		return objstore.Attrs{}, s.fail("copy", src, objstore.ErrNotFound, nil)
	}
	if opts.IfMatch != "" && !etagMatches(opts.IfMatch, from.etag) {
		return objstore.Attrs{}, s.fail("copy", src, objstore.ErrPrecondition, errETagMismatch)
	}
	prog := objstore.NewProgress(opts.Progress)
	defer prog.Stop()
	prog.Start(int64(len(from.data)))
	o := &object{data: from.data, contentType: from.contentType, metadata: from.metadata}
	if err := s.store(ctx, "copy", dst, fullDst, o, opts.IfAbsent, ""); err != nil {
		return objstore.Attrs{}, err
	}
	prog.Finish(int64(len(o.data)))
	return o.attrs(dst), nil
}

// Close makes later calls on this handle fail. The objects of a named
// store stay for other handles.
func (s *Store) Close() error {
	s.closed.Store(true)
	return nil
}

// readBody reads body to its end, failing once ctx is done. A body that
// knows its length (bytes.Reader, strings.Reader, bytes.Buffer) is read
// into one exact allocation, so a stored object costs its size and no
// more.
//
// The bytes read are reported to prog as they arrive.
func readBody(ctx context.Context, body io.Reader, prog *objstore.Progress) ([]byte, error) {
	l, ok := body.(interface{ Len() int })
	if !ok {
		return io.ReadAll(&progressReader{r: &ctxio.Reader{Ctx: ctx, R: body}, prog: prog})
	}
	// A body that knows its length is usually in memory already: reading
	// it takes no time worth interrupting, and store checks ctx before the
	// write.
	r := &progressReader{r: body, prog: prog}
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

// progressReader reports the bytes read from r to prog.
type progressReader struct {
	r    io.Reader
	prog *objstore.Progress
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.prog.Add(int64(n))
	return n, err
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

// List yields the objects under opts.Prefix in byte order, a page at a
// time: each page is read under the lock, and the loop stops when the
// caller breaks.
func (s *Store) List(ctx context.Context, opts *objstore.ListOptions) iter.Seq2[objstore.Entry, error] {
	return func(yield func(objstore.Entry, error) bool) {
		o, err := s.ns.List(opts)
		if err == nil {
			_, err = s.begin(ctx, OpList)
		}
		if err != nil {
			yield(objstore.Entry{}, err)
			return
		}
		// from is the inclusive lower bound of the next page. No key holds
		// a NUL byte, so StartAfter+"\x00" is the least key after it.
		from := o.Prefix
		if o.StartAfter != "" && o.StartAfter+"\x00" > from {
			from = o.StartAfter + "\x00"
		}
		for {
			if err := ctx.Err(); err != nil {
				yield(objstore.Entry{}, s.fail("list", "", nil, err))
				return
			}
			page, next := s.b.page(o.Prefix, o.Delimiter, from, o.PageSize)
			for _, e := range page {
				e.Key = s.ns.Rel(e.Key)
				if !yield(e, nil) {
					return
				}
			}
			if next == "" {
				return
			}
			from = next
		}
	}
}

// page returns up to n entries from the key from onwards, and where the
// next page starts ("" when the listing is complete).
func (b *bucket) page(prefix, delim, from string, n int) (page []objstore.Entry, next string) {
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
				page = append(page, objstore.Entry{Attrs: objstore.Attrs{Key: p}, IsPrefix: true})
				// The keys under p are contiguous; the first key after them
				// sorts at or after p with its delimiter byte incremented.
				i, _ = slices.BinarySearch(keys, p[:len(p)-1]+string(p[len(p)-1]+1))
				continue
			}
		}
		o := b.objects[k]
		page = append(page, objstore.Entry{Attrs: objstore.Attrs{Key: k, Size: int64(len(o.data)), ETag: o.etag, ModTime: o.modTime}})
		i++
	}
	return page, ""
}
